//! `cargo xtask guide`: the user guide (`docs/guide/<lang>.md`) rendered to
//! `ui/guide/<lang>.html` and `ui/guide/<lang>.pdf`, which ship with the app and open
//! without a network.
//!
//! The HTML is self-contained: its CSS is inline, its only links are to its own
//! sections, its images are `img/<name>.png` beside it (`ui/guide/img/`, the screenshots
//! of the window tests), and it names no other address. Arabic and Persian pages are
//! `dir="rtl"`. The PDF is laid out by the report engine (`custos_report::guide`), which
//! embeds subset fonts and shapes Arabic and Persian, and the same screenshots where the
//! Markdown shows them (read here from `ui/guide/img/`, scaled down to 800 pixels wide
//! by the engine), each with its caption below it. Its metadata keeps the SHA-256 of
//! the Markdown it was made from, which is how `--check` and the tests know it is up to
//! date (a changed screenshot is not seen: render again after `--screenshots`). Two
//! renderings of the same Markdown and images are the same bytes.
//!
//! `--screenshots` first copies the images the guide shows from `target/screenshots/`
//! (run the window tests first: `cargo test -p custos-desktop --test window --test
//! window_search --test window_sync --test window_protect`), cut to the window.

use std::fs;
use std::path::Path;

use custos_report::guide::Block;
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use sha2::{Digest, Sha256};

/// The languages the guide is written in.
pub const LANGS: &[&str] = &["en", "ar", "fa", "es", "fr"];

/// What each language needs besides the Markdown: its direction and its PDF footer.
fn rtl(lang: &str) -> bool {
    matches!(lang, "ar" | "fa")
}

fn footer(lang: &str, title: &str, page: usize, pages: usize) -> String {
    match lang {
        "fr" => format!("{title} — page {page} sur {pages}"),
        "es" => format!("{title} — página {page} de {pages}"),
        "ar" => format!("{title} — صفحة {page} من {pages}"),
        "fa" => format!("{title} — صفحهٔ {page} از {pages}"),
        _ => format!("{title} — page {page} of {pages}"),
    }
}

/// The keyword of the PDF's metadata that names the Markdown it was made from.
fn source_keyword(markdown: &str) -> String {
    let digest: String = Sha256::digest(markdown.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("custos-guide-source-sha256:{digest}")
}

const CSS: &str = "\
:root{color-scheme:light dark;--fg:#1b1b1b;--bg:#fff;--muted:#555;--line:#ccc;--accent:#1a3573;--warn:#9a1b1b}\
@media (prefers-color-scheme:dark){:root{--fg:#e8e8e8;--bg:#161616;--muted:#aaa;--line:#444;--accent:#9db4ff;--warn:#ff9d9d}}\
html{background:var(--bg);color:var(--fg)}\
body{margin:0;font:16px/1.55 system-ui,\"DejaVu Sans\",\"Noto Sans\",\"Noto Sans Arabic\",\"Vazirmatn\",sans-serif}\
.guide{max-width:46em;margin:0 auto;padding:1.5em 1.25em 4em}\
.guide h1{font-size:1.8em;margin:.2em 0 .6em}\
.guide h2{font-size:1.35em;color:var(--accent);margin:2em 0 .5em;padding-top:.6em;border-top:1px solid var(--line)}\
.guide h3{font-size:1.1em;margin:1.4em 0 .3em}\
.guide img{display:block;max-width:100%;height:auto;margin:.6em 0;border:1px solid var(--line);border-radius:4px}\
.guide code{font-family:ui-monospace,\"DejaVu Sans Mono\",monospace;font-size:.92em}\
.guide blockquote{margin:0 0 1.2em;padding:.5em .9em;border-inline-start:4px solid var(--warn);color:var(--muted)}\
.guide-toc{border:1px solid var(--line);border-radius:4px;padding:.6em 1.2em;margin:1em 0 1.5em}\
.guide-toc ol{margin:.3em 0;padding-inline-start:1.4em}\
.guide a{color:var(--accent)}\
.guide li{margin:.25em 0}\
@media print{.guide-toc{display:none}.guide h2{break-before:page;border:0}.guide img{break-inside:avoid}}";

/// The guide's title: its first heading.
fn title_of(markdown: &str) -> String {
    markdown
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or("Custos")
        .trim()
        .to_owned()
}

fn parser(markdown: &str) -> Parser<'_> {
    Parser::new_ext(markdown, Options::empty())
}

/// The Markdown as a self-contained HTML page.
pub fn html(lang: &str, markdown: &str) -> String {
    let title = title_of(markdown);
    // Chapters (level 2) get ids `s1`, `s2` … and a table of contents after the intro.
    let mut events: Vec<Event> = Vec::new();
    let mut toc: Vec<(String, String)> = Vec::new();
    let mut in_chapter: Option<usize> = None;
    let mut toc_at = None;
    for ev in parser(markdown) {
        match ev {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H2,
                classes,
                attrs,
                ..
            }) => {
                toc_at.get_or_insert(events.len());
                let id = format!("s{}", toc.len() + 1);
                toc.push((id.clone(), String::new()));
                in_chapter = Some(toc.len() - 1);
                events.push(Event::Start(Tag::Heading {
                    level: HeadingLevel::H2,
                    id: Some(id.into()),
                    classes,
                    attrs,
                }));
            }
            Event::End(TagEnd::Heading(HeadingLevel::H2)) => {
                in_chapter = None;
                events.push(ev);
            }
            Event::Text(ref t) | Event::Code(ref t) if in_chapter.is_some() => {
                toc[in_chapter.unwrap_or_default()].1.push_str(t);
                events.push(ev);
            }
            other => events.push(other),
        }
    }
    let toc_at = toc_at.unwrap_or(events.len());
    let mut body = String::new();
    pulldown_cmark::html::push_html(&mut body, events[..toc_at].iter().cloned());
    if !toc.is_empty() {
        body.push_str("<nav class=\"guide-toc\"><ol>\n");
        for (id, text) in &toc {
            body.push_str(&format!(
                "<li><a href=\"#{id}\">{}</a></li>\n",
                escape(text)
            ));
        }
        body.push_str("</ol></nav>\n");
    }
    pulldown_cmark::html::push_html(&mut body, events[toc_at..].iter().cloned());
    let dir = if rtl(lang) { "rtl" } else { "ltr" };
    format!(
        "<!doctype html>\n<html lang=\"{lang}\" dir=\"{dir}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
         <main class=\"guide\" id=\"guide\" lang=\"{lang}\" dir=\"{dir}\">\n{body}</main>\n</body>\n</html>\n",
        escape(&title)
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The Markdown as the blocks of the PDF: headings, paragraphs, list items with their
/// bullet or number, the top note as an alert line, images with their alternative text
/// as caption (`image` gives the bytes of the file an image names, or why it cannot).
/// Inline formatting is left out.
pub fn blocks(
    markdown: &str,
    image: &mut dyn FnMut(&str) -> Result<Vec<u8>, String>,
) -> Result<Vec<Block>, String> {
    let mut out = Vec::new();
    // The image being read: its file and its caption so far.
    let mut img: Option<(String, String)> = None;
    let mut text = String::new();
    // Ordered lists: the next number; unordered: None.
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut item_prefix: Vec<String> = Vec::new();
    let mut in_image = 0usize;
    let mut in_quote = 0usize;
    let flush = |text: &mut String, out: &mut Vec<Block>, make: fn(String) -> Block| {
        let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
        text.clear();
        if !t.is_empty() {
            out.push(make(t));
        }
    };
    for ev in parser(markdown) {
        match ev {
            Event::Start(Tag::Heading { .. }) | Event::Start(Tag::Paragraph)
                if item_prefix.is_empty() =>
            {
                text.clear();
            }
            Event::End(TagEnd::Heading(level)) => {
                let make: fn(String) -> Block = match level {
                    HeadingLevel::H1 => Block::Title,
                    HeadingLevel::H2 => Block::Heading,
                    _ => Block::Subheading,
                };
                flush(&mut text, &mut out, make);
            }
            Event::End(TagEnd::Paragraph) => {
                if item_prefix.is_empty() {
                    let make: fn(String) -> Block = if in_quote > 0 {
                        Block::Alert
                    } else {
                        Block::Para
                    };
                    flush(&mut text, &mut out, make);
                } else {
                    text.push(' ');
                }
            }
            Event::Start(Tag::BlockQuote(_)) => in_quote += 1,
            Event::End(TagEnd::BlockQuote(_)) => in_quote = in_quote.saturating_sub(1),
            Event::Start(Tag::List(start)) => {
                // A list inside an item: the item's text so far is its own line.
                if !item_prefix.is_empty() {
                    let p = item_prefix.last().cloned().unwrap_or_default();
                    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
                    text.clear();
                    if !t.is_empty() {
                        out.push(Block::Para(format!("{p}{t}")));
                    }
                }
                lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                lists.pop();
            }
            Event::Start(Tag::Item) => {
                let indent = "    ".repeat(lists.len().saturating_sub(1));
                let prefix = match lists.last_mut() {
                    Some(Some(n)) => {
                        let p = format!("{indent}{n}. ");
                        *n += 1;
                        p
                    }
                    _ => format!("{indent}• "),
                };
                item_prefix.push(prefix);
                text.clear();
            }
            Event::End(TagEnd::Item) => {
                let p = item_prefix.pop().unwrap_or_default();
                let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
                text.clear();
                if !t.is_empty() {
                    out.push(Block::Para(format!("{p}{t}")));
                }
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                in_image += 1;
                if in_image == 1 {
                    // Text before the image in its paragraph: a paragraph above it.
                    if item_prefix.is_empty() {
                        flush(&mut text, &mut out, Block::Para);
                    }
                    img = Some((dest_url.to_string(), String::new()));
                }
            }
            Event::End(TagEnd::Image) => {
                in_image = in_image.saturating_sub(1);
                if in_image == 0 {
                    if let Some((dest, alt)) = img.take() {
                        let png = image(&dest).map_err(|e| format!("![…]({dest}): {e}"))?;
                        let caption = alt.split_whitespace().collect::<Vec<_>>().join(" ");
                        out.push(Block::Image { png, caption });
                    }
                }
            }
            Event::Text(t) | Event::Code(t) if in_image > 0 => {
                if let Some((_, alt)) = img.as_mut() {
                    alt.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak if in_image > 0 => {
                if let Some((_, alt)) = img.as_mut() {
                    alt.push(' ');
                }
            }
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            _ => {}
        }
    }
    Ok(out)
}

/// The bytes of the image a page names (`img/<name>.png`), from the folder of the
/// pages (`ui/guide/`): an error names the file when it is missing or is not there.
fn read_image(pages: &Path, dest: &str) -> Result<Vec<u8>, String> {
    if !dest.starts_with("img/") || dest.contains("..") || dest.contains(':') {
        return Err("not an image of ui/guide/img/".into());
    }
    let path = pages.join(dest);
    fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The guide of `lang` as a PDF, and its page count; its images are read from `pages`
/// (the folder of the HTML pages, `ui/guide/`).
pub fn pdf(lang: &str, markdown: &str, pages: &Path) -> Result<(Vec<u8>, usize), String> {
    let title = title_of(markdown);
    let foot = |page: usize, pages: usize| footer(lang, &title, page, pages);
    let blocks = blocks(markdown, &mut |dest| read_image(pages, dest))
        .map_err(|e| format!("{lang}.pdf: docs/guide/{lang}.md shows {e}"))?;
    custos_report::guide::pdf(
        &blocks,
        &title,
        &foot,
        &[source_keyword(markdown)],
        rtl(lang),
    )
    .map_err(|e| format!("{lang}.pdf: {e}"))
}

/// Whether a PDF was made from this Markdown (the digest in its metadata).
pub fn pdf_is_from(pdf: &[u8], markdown: &str) -> bool {
    let key = source_keyword(markdown);
    // The metadata's strings are written as UTF-16BE in hex (`<FEFF0063…>`).
    let hex: String = key
        .encode_utf16()
        .map(|u| format!("{u:04X}"))
        .collect::<String>();
    let found = |needle: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
    found(key.as_bytes()) || found(format!("<FEFF{hex}").as_bytes())
}

/// Addresses a self-contained page must not name: anything with a scheme or a
/// network path, CSS imports and `url(…)`.
pub fn external_references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for needle in ["://", "url(", "@import", "src=\"//", "href=\"//", "srcset"] {
        if html.contains(needle) {
            found.push(needle.to_owned());
        }
    }
    for attr in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attr) {
            let value: String = html[at + attr.len()..]
                .chars()
                .take_while(|c| *c != '"')
                .collect();
            let local = if attr == "src=\"" {
                value.starts_with("img/") && !value.contains("..")
            } else {
                value.starts_with('#')
            };
            if !local {
                found.push(format!("{attr}{value}\""));
            }
        }
    }
    found
}

/// The images a page shows (`img/<name>.png`).
pub fn images(html: &str) -> Vec<String> {
    html.match_indices("src=\"")
        .map(|(at, _)| {
            html[at + 5..]
                .chars()
                .take_while(|c| *c != '"')
                .collect::<String>()
        })
        .collect()
}

/// Renders every language (`check`: compares instead, writing nothing). Returns the
/// problems found.
pub fn run(root: &Path, check: bool) -> Vec<String> {
    let out_dir = root.join("ui/guide");
    let mut problems = Vec::new();
    if !check {
        fs::create_dir_all(&out_dir).expect("ui/guide can be made");
    }
    for lang in LANGS {
        let md_path = root.join(format!("docs/guide/{lang}.md"));
        let markdown = match fs::read_to_string(&md_path) {
            Ok(m) => m,
            Err(e) => {
                problems.push(format!("{}: {e}", md_path.display()));
                continue;
            }
        };
        let page = html(lang, &markdown);
        for r in external_references(&page) {
            problems.push(format!("{lang}.html names an outside address: {r}"));
        }
        for img in images(&page) {
            if !out_dir.join(&img).is_file() {
                problems.push(format!("{lang}.html shows {img}, which ui/guide/ lacks"));
            }
        }
        let html_path = out_dir.join(format!("{lang}.html"));
        let pdf_path = out_dir.join(format!("{lang}.pdf"));
        if check {
            if fs::read_to_string(&html_path).ok().as_deref() != Some(page.as_str()) {
                problems.push(format!(
                    "{} is not the rendering of docs/guide/{lang}.md: run `cargo xtask guide`",
                    html_path.display()
                ));
            }
            if !fs::read(&pdf_path).is_ok_and(|p| pdf_is_from(&p, &markdown)) {
                problems.push(format!(
                    "{} was not made from docs/guide/{lang}.md: run `cargo xtask guide`",
                    pdf_path.display()
                ));
            }
            continue;
        }
        fs::write(&html_path, &page).expect("the HTML can be written");
        match pdf(lang, &markdown, &out_dir) {
            Ok((bytes, pages)) => {
                fs::write(&pdf_path, &bytes).expect("the PDF can be written");
                let sections = page.matches("<h2").count();
                eprintln!(
                    "{lang}: {} ({} KB, {sections} chapters), {} ({} KB, {pages} pages)",
                    html_path.display(),
                    page.len() / 1024,
                    pdf_path.display(),
                    bytes.len() / 1024
                );
            }
            Err(e) => problems.push(e),
        }
    }
    problems
}

/// Copies the screenshots the guide shows from `target/screenshots/` (where the window
/// tests save them) to `ui/guide/img/`, cut to the window (the tests' screen is larger
/// than the window, the rest is black) and compressed harder. Returns the problems.
pub fn copy_screenshots(root: &Path) -> Vec<String> {
    let from = root.join("target/screenshots");
    let to = root.join("ui/guide/img");
    fs::create_dir_all(&to).expect("ui/guide/img can be made");
    let mut wanted = std::collections::BTreeSet::new();
    for lang in LANGS {
        if let Ok(md) = fs::read_to_string(root.join(format!("docs/guide/{lang}.md"))) {
            wanted.extend(images(&html(lang, &md)));
        }
    }
    let mut problems = Vec::new();
    let mut total = 0;
    for img in wanted {
        let name = img.trim_start_matches("img/");
        match fs::read(from.join(name))
            .map_err(|e| e.to_string())
            .and_then(|b| crop_to_window(&b))
        {
            Ok(png) => {
                total += png.len();
                fs::write(to.join(name), png).expect("the image can be written");
            }
            Err(e) => problems.push(format!("target/screenshots/{name}: {e}")),
        }
    }
    eprintln!("ui/guide/img: {} KB", total / 1024);
    problems
}

/// An RGB screenshot cut to the bounding box of its non-black pixels.
fn crop_to_window(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("image too large")?];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    if info.color_type != png::ColorType::Rgb || info.bit_depth != png::BitDepth::Eight {
        return Err(format!("not 8-bit RGB: {:?}", info.color_type));
    }
    let (w, h) = (info.width as usize, info.height as usize);
    let px = |x: usize, y: usize| &buf[(y * w + x) * 3..(y * w + x) * 3 + 3];
    let (mut right, mut bottom) = (0, 0);
    for y in 0..h {
        for x in 0..w {
            if px(x, y) != [0, 0, 0] {
                right = right.max(x + 1);
                bottom = bottom.max(y + 1);
            }
        }
    }
    if right == 0 {
        return Err("the screenshot is black".into());
    }
    let mut rgb = Vec::with_capacity(right * bottom * 3);
    for y in 0..bottom {
        rgb.extend_from_slice(&buf[y * w * 3..(y * w + right) * 3]);
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, right as u32, bottom as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::High);
    let mut wr = enc.write_header().map_err(|e| e.to_string())?;
    wr.write_image_data(&rgb).map_err(|e| e.to_string())?;
    wr.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> std::path::PathBuf {
        crate::root()
    }

    #[test]
    fn the_shipped_guide_is_the_rendering_of_its_markdown() {
        let problems = run(&root(), true);
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn a_page_names_no_outside_address() {
        let md =
            "# T\n\nSee ![x](img/a.png) and [site](https://example.org) or ![y](http://e/y.png).\n";
        let found = external_references(&html("en", md));
        assert!(found.iter().any(|f| f.contains("https://example.org")));
        assert!(found.iter().any(|f| f.contains("http://e/y.png")));
        assert!(!found.iter().any(|f| f.contains("img/a.png")));
        assert!(external_references(&html("en", "# T\n\n## A\n\n![x](img/a.png)\n")).is_empty());
    }

    #[test]
    fn right_to_left_pages_say_so_and_chapters_are_listed() {
        let page = html("fa", "# راهنما\n\n## یک\n\nمتن.\n\n## دو\n");
        assert!(page.contains("<html lang=\"fa\" dir=\"rtl\">"));
        assert!(page.contains("<a href=\"#s1\">یک</a>"));
        assert!(page.contains("<h2 id=\"s2\">دو</h2>"));
        assert!(html("en", "# G\n").contains("dir=\"ltr\""));
    }

    #[test]
    fn markdown_becomes_pdf_blocks_and_images_become_image_blocks_with_their_caption() {
        let md = "# Guide\n\n> Not reviewed.\n\n## One\n\nSome **bold** text.\n\n1. First\n2. Second,\n   on two lines\n\n- a\n\n![The *case* list,\nempty](img/x.png)\n\nAfter.\n";
        let mut asked = Vec::new();
        let got = blocks(md, &mut |dest| {
            asked.push(dest.to_owned());
            Ok(format!("bytes of {dest}").into_bytes())
        })
        .unwrap();
        assert_eq!(asked, ["img/x.png"]);
        assert_eq!(
            got,
            vec![
                Block::Title("Guide".into()),
                Block::Alert("Not reviewed.".into()),
                Block::Heading("One".into()),
                Block::Para("Some bold text.".into()),
                Block::Para("1. First".into()),
                Block::Para("2. Second, on two lines".into()),
                Block::Para("• a".into()),
                Block::Image {
                    png: b"bytes of img/x.png".to_vec(),
                    caption: "The case list, empty".into(),
                },
                Block::Para("After.".into()),
            ]
        );
    }

    #[test]
    fn a_missing_image_is_an_error_naming_it() {
        let dir = root().join("ui/guide");
        let md = "# Guide\n\nText.\n\n![Gone](img/no-such-screenshot.png)\n";
        let err = pdf("en", md, &dir).unwrap_err();
        assert!(err.contains("img/no-such-screenshot.png"), "{err}");
        assert!(err.starts_with("en.pdf: docs/guide/en.md shows"), "{err}");
        // Not a PNG: an error naming its caption.
        let err = custos_report::guide::pdf(
            &[Block::Image {
                png: b"not a png".to_vec(),
                caption: "Broken".into(),
            }],
            "T",
            &|_, _| String::new(),
            &[],
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("Broken"), "{err}");
        // Only the images beside the pages.
        assert!(read_image(&dir, "../../Cargo.toml").is_err());
    }

    /// A 2×2 matrix with its translation (PDF's `a b c d e f`) applied after `m`.
    fn times(n: [f32; 6], m: [f32; 6]) -> [f32; 6] {
        [
            n[0] * m[0] + n[1] * m[2],
            n[0] * m[1] + n[1] * m[3],
            n[2] * m[0] + n[3] * m[2],
            n[2] * m[1] + n[3] * m[3],
            n[4] * m[0] + n[5] * m[2] + m[4],
            n[4] * m[1] + n[5] * m[3] + m[5],
        ]
    }

    #[test]
    fn each_shipped_pdf_has_one_image_per_screenshot_of_its_markdown_within_the_text_width() {
        // A4 less two margins of 20 mm, in points.
        let (page_w, margin) = (595.28_f32, 56.7_f32);
        for lang in LANGS {
            let md = fs::read_to_string(root().join(format!("docs/guide/{lang}.md"))).unwrap();
            let shown = images(&html(lang, &md)).len();
            assert!(shown > 0, "{lang}");
            let path = root().join(format!("ui/guide/{lang}.pdf"));
            let doc = lopdf::Document::load(&path).unwrap();
            let xobjects = doc
                .objects
                .values()
                .filter_map(|o| o.as_stream().ok())
                .filter(|s| s.dict.get(b"Subtype").and_then(|v| v.as_name()).ok() == Some(b"Image"))
                .count();
            assert_eq!(xobjects, shown, "{lang}: image XObjects");
            // Where each is drawn: the transformation at its `Do`.
            let mut drawn = 0;
            for (_, page) in doc.get_pages() {
                let content = lopdf::content::Content::decode(&doc.get_page_content(page)).unwrap();
                let mut ctm = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
                let mut stack = Vec::new();
                for op in content.operations {
                    match op.operator.as_str() {
                        "q" => stack.push(ctm),
                        "Q" => ctm = stack.pop().unwrap(),
                        "cm" => {
                            let n: Vec<f32> =
                                op.operands.iter().map(|v| v.as_float().unwrap()).collect();
                            ctm = times([n[0], n[1], n[2], n[3], n[4], n[5]], ctm);
                        }
                        "Do" => {
                            drawn += 1;
                            let (w, x) = (ctm[0], ctm[4]);
                            assert!(w > 100.0 && ctm[3] > 50.0, "{lang}: {ctm:?}");
                            assert!(x >= margin - 0.01, "{lang}: {ctm:?}");
                            assert!(x + w <= page_w - margin + 0.01, "{lang}: {ctm:?}");
                        }
                        _ => {}
                    }
                }
            }
            assert_eq!(drawn, shown, "{lang}: images drawn");
        }
    }

    #[test]
    fn a_guide_pdf_is_the_same_bytes_each_time() {
        let dir = root().join("ui/guide");
        let md = fs::read_to_string(root().join("docs/guide/fa.md")).unwrap();
        let first = pdf("fa", &md, &dir).unwrap();
        // Whatever was rendered in between.
        pdf("en", "# Guide\n\nText.\n", &dir).unwrap();
        assert!(first == pdf("fa", &md, &dir).unwrap());
    }

    #[test]
    fn a_pdf_knows_the_markdown_it_was_made_from() {
        let md = "# Guide\n\n## پیش از سفر\n\nمتن فارسی با نیم‌فاصله.\n";
        let (bytes, pages) = pdf("fa", md, &root().join("ui/guide")).unwrap();
        assert_eq!(pages, 1);
        assert!(pdf_is_from(&bytes, md));
        assert!(!pdf_is_from(&bytes, "# Guide\n"));
    }
}
