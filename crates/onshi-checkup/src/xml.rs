//! A small, safe XML tree for the checkup files: elements by namespace and local name, with
//! attributes and text. Refused before they cost anything: a document type declaration (so no
//! entity can be defined, and no billion laughs), entity references other than the five XML
//! predefines, character references to control characters, more than [`MAX_DEPTH`] levels, more
//! than [`MAX_ELEMENTS`] elements, and files larger than the caller's limit (the archive reader
//! bounds every entry before it gets here).

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

/// The deepest nesting accepted (a CDA document nests about 15 levels).
pub const MAX_DEPTH: usize = 64;
/// The most elements in one file (a checkup document has a few thousand).
pub const MAX_ELEMENTS: usize = 200_000;

/// An element: its namespace, local name, attributes (local name → value), text and children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// The namespace URI, empty when none (shared between the elements of one namespace: a
    /// document has a few thousand elements and one or two namespaces).
    pub namespace: std::rc::Rc<str>,
    /// The local name (shared between the elements of one name, as the namespace is).
    pub name: std::rc::Rc<str>,
    /// Attributes by local name (namespaced attributes such as `xsi:type` by local name too).
    pub attributes: Vec<(std::rc::Rc<str>, String)>,
    /// The text directly inside, concatenated.
    pub text: String,
    /// Child elements in order.
    pub children: Vec<Element>,
    /// The line the element starts on (from 1).
    pub line: usize,
}

impl Element {
    /// The first child named `name` (any namespace).
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| &*c.name == name)
    }

    /// The children named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| &*c.name == name)
    }

    /// The value of attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a file is not a document this crate reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct XmlError {
    /// Where (from 1; 0 when the whole file is at fault).
    pub line: usize,
    /// Why.
    pub reason: String,
}

fn line_of(bytes: &[u8], position: u64) -> usize {
    Lines::default().at(bytes, position)
}

/// Line numbers of positions that only move forward, counted incrementally: counting from the
/// start for every element made a large document cost the square of its size.
#[derive(Default)]
struct Lines {
    position: usize,
    newlines: usize,
}

impl Lines {
    fn at(&mut self, bytes: &[u8], position: u64) -> usize {
        let end = usize::try_from(position)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        if end < self.position {
            // Not expected (positions only grow); count afresh rather than be wrong.
            *self = Self::default();
        }
        self.newlines += memchr::memchr_iter(b'\n', &bytes[self.position..end]).count();
        self.position = end;
        self.newlines + 1
    }
}

/// The namespaces, element names and attribute names seen so far, each allocated once (a
/// document repeats a few dozen names thousands of times).
#[derive(Default)]
struct Names(Vec<std::rc::Rc<str>>);

impl Names {
    fn get(&mut self, uri: &str) -> std::rc::Rc<str> {
        if let Some(known) = self.0.iter().find(|n| &***n == uri) {
            return known.clone();
        }
        let new: std::rc::Rc<str> = uri.into();
        self.0.push(new.clone());
        new
    }
}

fn element(
    reader: &NsReader<&[u8]>,
    names: &mut Names,
    start: &BytesStart<'_>,
    line: usize,
) -> Result<Element, XmlError> {
    let err = |reason: String| XmlError { line, reason };
    let (ns, local) = reader.resolver().resolve_element(start.name());
    let namespace = match ns {
        ResolveResult::Bound(ns) => names.get(ns.as_ref()),
        ResolveResult::Unbound => names.get(""),
        ResolveResult::Unknown(prefix) => {
            return Err(err(format!("unknown namespace prefix '{prefix}'")));
        }
    };
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| err(e.to_string()))?;
        let key = attribute.key.local_name();
        if attribute.key.as_ref().starts_with("xmlns") {
            continue;
        }
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| err(format!("attribute value: {e}")))?;
        if value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err(err("a control character in an attribute value".into()));
        }
        attributes.push((names.get(key.as_ref()), value.into_owned()));
    }
    Ok(Element {
        namespace,
        name: names.get(local.as_ref()),
        attributes,
        text: String::new(),
        children: Vec::new(),
        line,
    })
}

/// Parses a UTF-8 document into its root element.
pub fn parse(bytes: &[u8]) -> Result<Element, XmlError> {
    let whole = |reason: &str| XmlError {
        line: 0,
        reason: reason.to_owned(),
    };
    let text = std::str::from_utf8(bytes).map_err(|e| XmlError {
        line: line_of(bytes, e.valid_up_to() as u64),
        reason: "not valid UTF-8".into(),
    })?;
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    let mut lines = Lines::default();
    let mut names = Names::default();
    loop {
        let before = reader.buffer_position();
        let line = lines.at(bytes, before);
        let event = reader.read_event().map_err(|e| XmlError {
            line: line_of(bytes, reader.buffer_position()),
            reason: e.to_string(),
        })?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(whole("too many elements"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError {
                        line,
                        reason: format!("elements nested deeper than {MAX_DEPTH} levels"),
                    });
                }
                let el = element(&reader, &mut names, e, line)?;
                if matches!(event, Event::Start(_)) {
                    stack.push(el);
                } else {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(el),
                        None => root = Some(el),
                    }
                }
            }
            Event::End(_) => {
                let done = stack.pop().ok_or(XmlError {
                    line,
                    reason: "unexpected end tag".into(),
                })?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                // Indentation before an element's first text is not kept: no reader needs it,
                // and keeping it cost an allocation per element of a pretty-printed file.
                let text = t.xml10_content();
                if let Some(top) = stack.last_mut()
                    && !(top.text.is_empty() && text.trim_ascii().is_empty())
                {
                    top.text.push_str(&text);
                }
            }
            Event::CData(c) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let ch = onshi_interface::xml::resolve_reference(&r)
                    .map_err(|reason| XmlError { line, reason })?;
                if let Some(top) = stack.last_mut() {
                    top.text.push(ch);
                }
            }
            Event::DocType(_) => {
                return Err(XmlError {
                    line,
                    reason: "a document type declaration (DOCTYPE) is not allowed".into(),
                });
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(XmlError {
            line: open.line,
            reason: format!("<{}> is not closed", open.name),
        });
    }
    root.ok_or_else(|| whole("the file holds no element"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_attributes_and_text() {
        let doc = parse(
            br#"<?xml version="1.0" encoding="UTF-8"?>
<index xmlns="urn:a" xmlns:x="urn:x"><creationTime value="20240527"/>
<x:note x:kind="k">a &amp; &amp; b</x:note></index>"#,
        )
        .unwrap();
        assert_eq!((&*doc.namespace, &*doc.name), ("urn:a", "index"));
        assert_eq!(
            doc.child("creationTime").unwrap().attribute("value"),
            Some("20240527")
        );
        let note = doc.child("note").unwrap();
        assert_eq!(doc.text, "", "indentation is not text");
        assert_eq!(
            (&*note.namespace, note.text.as_str(), note.line),
            ("urn:x", "a & & b", 3)
        );
        assert_eq!(note.attribute("kind"), Some("k"));
    }

    #[test]
    fn hostile_documents_are_refused() {
        let laughs = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><a>&lol2;</a>"#;
        assert!(parse(laughs).unwrap_err().reason.contains("DOCTYPE"));
        assert!(
            parse(b"<a>&nbsp;</a>")
                .unwrap_err()
                .reason
                .contains("entity")
        );
        assert!(
            parse(b"<a>&#1;</a>")
                .unwrap_err()
                .reason
                .contains("control")
        );
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert!(
            parse(deep.as_bytes())
                .unwrap_err()
                .reason
                .contains("deeper")
        );
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"<a>").unwrap_err().reason.contains("not closed"));
        assert!(parse(b"<p:a/>").unwrap_err().reason.contains("prefix"));
        assert!(parse(b"\xff<a/>").unwrap_err().reason.contains("UTF-8"));
    }
}
