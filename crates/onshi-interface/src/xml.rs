//! A small, strict XML reader for the interface's messages: elements and text only. A document
//! type declaration is refused (so no external or internal entities can ever be expanded), only
//! the five predefined entities and character references are resolved, and depth and size are
//! bounded.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::InterfaceError;

/// The largest message accepted: a 50,000-row bulk upload with every optional element (birth
/// date, consent flag, a 100-character identifier) is about 25 MB.
pub const MAX_BYTES: usize = 32 * 1024 * 1024;
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

/// The character an entity or character reference stands for: a character reference, or one
/// of the five entities XML predefines (no others exist, as DOCTYPE is refused). A reference to
/// a control character other than tab and line ends is refused: XML 1.0 cannot carry it, and
/// an answer echoing it would not be well-formed. Shared by every strict reader of onshi.
pub fn resolve_reference(r: &quick_xml::events::BytesRef<'_>) -> Result<char, String> {
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
    let ch = resolved.ok_or_else(|| {
        "entity references other than &amp; &lt; &gt; &quot; &apos; are not allowed".to_owned()
    })?;
    if ch.is_control() && !matches!(ch, '\t' | '\n' | '\r') {
        return Err(format!(
            "a character reference to a control character (U+{:04X}) is not allowed",
            u32::from(ch)
        ));
    }
    Ok(ch)
}

/// Parses a document into its root element.
pub fn parse(bytes: &[u8]) -> Result<Element, InterfaceError> {
    if bytes.len() > MAX_BYTES {
        return Err(InterfaceError::Malformed(format!(
            "the file is larger than {MAX_BYTES} bytes"
        )));
    }
    let encoding = declared_encoding(bytes);
    // UTF-8 labelled Shift_JIS decodes as Shift_JIS without an error, as mojibake. Real
    // Shift_JIS Japanese text is (almost) never valid UTF-8 with multi-byte characters: its
    // half-width kana and second bytes are stray UTF-8 continuation bytes.
    if encoding == encoding_rs::SHIFT_JIS && !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok()
    {
        return Err(InterfaceError::Malformed(
            "the file declares Shift_JIS but is UTF-8: declare encoding=\"UTF-8\", or write it in Shift_JIS"
                .into(),
        ));
    }
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
                let ch = resolve_reference(&r).map_err(|reason| {
                    InterfaceError::Malformed(format!("{}: {reason}", position(&reader, &text)))
                })?;
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

/// Escapes text for element content. Control characters XML 1.0 cannot carry (any but tab and
/// line ends) are dropped, so an answer is always well-formed whatever a value holds.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_character_references_are_refused_and_never_written() {
        let doc = "<XmlMsg><A>x&#1;y</A></XmlMsg>";
        let e = parse(doc.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("U+0001"), "{e}");
        assert!(parse(b"<XmlMsg><A>x&#9;y&#10;</A></XmlMsg>").is_ok());
        assert_eq!(escape("a\u{1}b\u{7f}c\td<"), "abc\td&lt;");
    }

    #[test]
    fn utf8_labelled_shift_jis_is_refused() {
        let utf8 = "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><XmlMsg><A>試験</A></XmlMsg>";
        let e = parse(utf8.as_bytes()).unwrap_err();
        assert!(
            e.to_string().contains("declares Shift_JIS but is UTF-8"),
            "{e}"
        );
        // The same text really in Shift_JIS, half-width kana included, parses.
        let sjis = encoding_rs::SHIFT_JIS
            .encode(&utf8.replace("試験", "試験ｼｹﾝ"))
            .0
            .into_owned();
        assert_eq!(parse(&sjis).unwrap().children[0].text, "試験ｼｹﾝ");
        // ASCII-only files are both; fine.
        assert!(parse(b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><XmlMsg/>").is_ok());
    }
}
