//! A small, strict XML reader for the interface's messages: elements and text only. A document
//! type declaration is refused (so no external or internal entities can ever be expanded), only
//! the five predefined entities and character references are resolved, and depth and size are
//! bounded.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::InterfaceError;

/// The largest message accepted (a bulk request of thousands of rows fits easily).
pub const MAX_BYTES: usize = 16 * 1024 * 1024;
const MAX_DEPTH: usize = 16;

/// An element with its children and text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// The element's name.
    pub name: String,
    /// Child elements in order.
    pub children: Vec<Element>,
    /// The text directly inside it.
    pub text: String,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
    /// Every child named `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    /// The text of the first child named `name`, trimmed of line breaks (spaces are kept: they
    /// are significant in the interface's values).
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.trim_matches(|ch| ch == '\r' || ch == '\n'))
    }
}

/// Which encoding a document declares: `Shift_JIS` (any spelling of it, or Windows-31J/CP932)
/// or UTF-8 (the default).
pub fn declared_encoding(bytes: &[u8]) -> &'static encoding_rs::Encoding {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).to_ascii_lowercase();
    let decl = head.split("?>").next().unwrap_or("");
    if decl.contains("shift_jis")
        || decl.contains("shift-jis")
        || decl.contains("windows-31j")
        || decl.contains("cp932")
        || decl.contains("sjis")
    {
        encoding_rs::SHIFT_JIS
    } else {
        encoding_rs::UTF_8
    }
}

/// Parses a document into its root element.
pub fn parse(bytes: &[u8]) -> Result<Element, InterfaceError> {
    if bytes.len() > MAX_BYTES {
        return Err(InterfaceError::Malformed(format!(
            "the file is larger than {MAX_BYTES} bytes"
        )));
    }
    let encoding = declared_encoding(bytes);
    let (text, _, bad) = encoding.decode(bytes);
    if bad {
        return Err(InterfaceError::Malformed(format!(
            "the file is not valid {}",
            encoding.name()
        )));
    }
    let mut reader = Reader::from_str(&text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let position = |r: &Reader<&[u8]>, text: &str| {
        let pos = usize::try_from(r.buffer_position())
            .unwrap_or(0)
            .min(text.len());
        let line = text.as_bytes()[..pos]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        format!("line {line}")
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| InterfaceError::Malformed(format!("{}: {e}", position(&reader, &text))))?;
        match event {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(InterfaceError::Malformed(
                        "elements are nested too deeply".into(),
                    ));
                }
                let name = e.name().as_ref().to_owned();
                stack.push(Element {
                    name,
                    ..Default::default()
                });
            }
            Event::Empty(e) => {
                let name = e.name().as_ref().to_owned();
                let el = Element {
                    name,
                    ..Default::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(InterfaceError::Malformed(format!(
                        "{}: unexpected end tag",
                        position(&reader, &text)
                    )));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten()
                } else {
                    match r.xml10_content().as_ref() {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    }
                };
                let Some(ch) = resolved else {
                    return Err(InterfaceError::Malformed(format!(
                        "{}: entity references other than &amp; &lt; &gt; &quot; &apos; are not allowed",
                        position(&reader, &text)
                    )));
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push(ch);
                }
            }
            Event::DocType(_) => {
                return Err(InterfaceError::Malformed(
                    "a document type declaration (DOCTYPE) is not allowed".into(),
                ));
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(InterfaceError::Malformed(format!(
            "<{}> is not closed",
            stack.last().map_or("", |e| e.name.as_str())
        )));
    }
    root.ok_or_else(|| InterfaceError::Malformed("the file holds no element".into()))
}

/// Escapes text for element content.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}
