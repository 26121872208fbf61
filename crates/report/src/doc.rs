//! A small document model shared by the text and PDF renderers.

use zeroize::Zeroize;

/// One block of a document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    /// The document's title.
    Title(String),
    /// A section heading.
    Heading(String),
    /// A heading within a section (one incident, one person …).
    Subheading(String),
    /// A paragraph of running text.
    Para(String),
    /// A labelled value (`Label: value`); empty values are left out by [`Doc::field`].
    Field(String, String),
    /// A line that must stand out (CONFIDENTIAL, warnings).
    Alert(String),
    /// A chart or map, drawn as vector graphics (its texts stay text).
    Figure(custos_patterns::Scene),
}

/// A raster image placed between blocks (kept beside them, not among them: the blocks
/// of the case report and the submission never hold one).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Image {
    /// Drawn before the block of this index (after the last block when there is none).
    pub at: usize,
    /// The bytes of a PNG file.
    pub png: Vec<u8>,
    /// Set below it.
    pub caption: String,
}

/// A document: a list of blocks. Wiped when dropped (it holds record content).
#[derive(Debug, Default)]
pub(crate) struct Doc {
    pub blocks: Vec<Block>,
    /// Images between the blocks, in order.
    pub images: Vec<Image>,
    /// The direction of the whole document, when it has one (the guide in Persian or
    /// Arabic is right to left on every line, as its HTML page is); `None`: each line's
    /// own, from its first letter (a case report holds text in any language).
    pub rtl: Option<bool>,
}

impl Drop for Doc {
    fn drop(&mut self) {
        for b in &mut self.blocks {
            match b {
                Block::Title(s)
                | Block::Heading(s)
                | Block::Subheading(s)
                | Block::Para(s)
                | Block::Alert(s) => s.zeroize(),
                Block::Field(a, b) => {
                    a.zeroize();
                    b.zeroize();
                }
                Block::Figure(scene) => wipe_scene(scene),
            }
        }
        for i in &mut self.images {
            i.png.zeroize();
            i.caption.zeroize();
        }
    }
}

/// Wipes the words of a drawing (its title and texts).
pub(crate) fn wipe_scene(scene: &mut custos_patterns::Scene) {
    scene.title.zeroize();
    for item in &mut scene.items {
        if let custos_patterns::scene::Item::Text { text, .. } = item {
            text.zeroize();
        }
    }
}

impl Doc {
    /// A chart or map.
    pub fn figure(&mut self, scene: custos_patterns::Scene) {
        self.blocks.push(Block::Figure(scene));
    }
    /// A PNG image, the text width wide, with its caption below it.
    pub fn image(&mut self, png: Vec<u8>, caption: impl Into<String>) {
        self.images.push(Image {
            at: self.blocks.len(),
            png,
            caption: caption.into(),
        });
    }
    /// The images drawn before the block at `index` (after the last block: `index` is
    /// the number of blocks).
    pub fn images_before(&self, index: usize) -> impl Iterator<Item = &Image> {
        let last = index >= self.blocks.len();
        self.images
            .iter()
            .filter(move |i| i.at == index || (last && i.at > index))
    }
    pub fn title(&mut self, s: impl Into<String>) {
        self.blocks.push(Block::Title(s.into()));
    }
    pub fn heading(&mut self, s: impl Into<String>) {
        self.blocks.push(Block::Heading(s.into()));
    }
    pub fn subheading(&mut self, s: impl Into<String>) {
        self.blocks.push(Block::Subheading(s.into()));
    }
    pub fn para(&mut self, s: impl Into<String>) {
        let s = s.into();
        if !s.trim().is_empty() {
            self.blocks.push(Block::Para(s));
        }
    }
    pub fn alert(&mut self, s: impl Into<String>) {
        self.blocks.push(Block::Alert(s.into()));
    }
    /// A labelled value; nothing when the value is empty.
    pub fn field(&mut self, label: &str, value: impl Into<String>) {
        let v = value.into();
        if !v.trim().is_empty() {
            self.blocks.push(Block::Field(label.to_owned(), v));
        }
    }
    /// Plain UTF-8 text, lines of any length (a reader's editor wraps them).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        // An image cannot be text: its caption stands for it.
        let images = |out: &mut String, index: usize| {
            for i in self.images_before(index) {
                blank(out);
                out.push('[');
                out.push_str(&i.caption);
                out.push_str("]\n\n");
            }
        };
        for (index, b) in self.blocks.iter().enumerate() {
            images(&mut out, index);
            match b {
                Block::Title(s) => {
                    out.push_str(s);
                    out.push('\n');
                    out.push_str(&"=".repeat(s.chars().count().clamp(3, 78)));
                    out.push_str("\n\n");
                }
                Block::Heading(s) => {
                    blank(&mut out);
                    out.push_str(&s.to_uppercase());
                    out.push('\n');
                    out.push_str(&"-".repeat(s.chars().count().clamp(3, 78)));
                    out.push_str("\n\n");
                }
                Block::Subheading(s) => {
                    blank(&mut out);
                    out.push_str(s);
                    out.push_str("\n\n");
                }
                Block::Para(s) => {
                    blank(&mut out);
                    out.push_str(s.trim_end());
                    out.push_str("\n\n");
                }
                Block::Field(label, value) => {
                    out.push_str(label);
                    out.push(':');
                    let mut lines = value.trim_end().lines();
                    if let Some(first) = lines.next() {
                        out.push(' ');
                        out.push_str(first);
                    }
                    for l in lines {
                        out.push_str("\n    ");
                        out.push_str(l);
                    }
                    out.push('\n');
                }
                Block::Alert(s) => {
                    out.push_str("*** ");
                    out.push_str(s);
                    out.push_str(" ***\n");
                }
                // A drawing cannot be text: its title stands for it.
                Block::Figure(scene) => {
                    blank(&mut out);
                    out.push('[');
                    out.push_str(&scene.title);
                    out.push_str("]\n\n");
                }
            }
        }
        images(&mut out, self.blocks.len());
        out
    }
}

/// Ends the text so far with an empty line.
fn blank(out: &mut String) {
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
}
