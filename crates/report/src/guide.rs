//! The user guide as a PDF, laid out by the same engine as the case report (embedded
//! subset fonts, Arabic and Persian shaped and drawn right to left). The guide's
//! renderer (`cargo xtask guide`) turns its Markdown into these blocks.

use custos_vault::error::Result;

use crate::doc::Doc;

/// One block of the guide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// The guide's title.
    Title(String),
    /// A chapter.
    Heading(String),
    /// A section within a chapter.
    Subheading(String),
    /// A paragraph, a list item (with its bullet or number) or a figure's caption.
    Para(String),
    /// A line that must stand out (the passphrase cannot be recovered …).
    Alert(String),
    /// A screenshot: the bytes of a PNG file (the caller reads it), drawn the text width
    /// wide (scaled down, never wider) with its caption below it.
    Image {
        /// The PNG file's bytes.
        png: Vec<u8>,
        /// The line below it.
        caption: String,
    },
}

/// The guide as a PDF: its bytes and its page count (the same bytes for the same blocks).
/// An image that is not a PNG the engine can read is an error naming its caption.
/// `footer` gives each page's last line from its number and the page count; `keywords` go
/// into the file's metadata (the renderer records there the digest of the Markdown it was
/// made from); `rtl`: the guide's language is written right to left.
pub fn pdf(
    blocks: &[Block],
    title: &str,
    footer: &dyn Fn(usize, usize) -> String,
    keywords: &[String],
    rtl: bool,
) -> Result<(Vec<u8>, usize)> {
    let mut doc = Doc::default();
    // A Persian or Arabic guide is right to left on every line, as its HTML page
    // (`dir="rtl"`): a line that starts with "Custos" included.
    doc.rtl = rtl.then_some(true);
    for b in blocks {
        match b {
            Block::Title(s) => doc.title(s.as_str()),
            Block::Heading(s) => doc.heading(s.as_str()),
            Block::Subheading(s) => doc.subheading(s.as_str()),
            Block::Para(s) => doc.para(s.as_str()),
            Block::Alert(s) => doc.alert(s.as_str()),
            Block::Image { png, caption } => doc.image(png.clone(), caption.as_str()),
        }
    }
    let (bytes, pages) = crate::pdf::render_with(&doc, title, footer, keywords)?;
    Ok((bytes.to_vec(), pages))
}
