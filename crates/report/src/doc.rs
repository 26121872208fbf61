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

/// A document: a list of blocks. Wiped when dropped (it holds record content).
#[derive(Debug, Default)]
pub(crate) struct Doc {
    pub blocks: Vec<Block>,
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
        for b in &self.blocks {
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
        out
    }
}

/// Ends the text so far with an empty line.
fn blank(out: &mut String) {
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
}
