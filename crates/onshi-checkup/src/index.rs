//! `ix08_V08.xml`, the archive's index (交換用基本情報): who sends what to whom. Both namespaces
//! are read: the current one and the 2007 one that older producers still write.

use onshi_domain::InsurerNumber;
use time::Date;

use crate::xml::Element;

/// The index and summary namespace of current files (2023 on).
pub const NAMESPACE: &str = "https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html";
/// The namespace of older producers' files.
pub const NAMESPACE_2007: &str = "http://tokuteikenshin.jp/checkup/2007";

/// OID of checkup-institution numbers (健診機関番号).
pub const INSTITUTION_OID: &str = "1.2.392.200119.6.102";
/// OID of insurer numbers (保険者番号).
pub const INSURER_OID: &str = "1.2.392.200119.6.101";

/// What an index says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// 種別 (別表1): 1 institution → agent, 6 institution → insurer, 8 insurer → insurer, ….
    pub interaction_type: u8,
    /// 作成年月日.
    pub created: Date,
    /// The sender's number (an institution's 10 digits or an insurer's 8), with its OID.
    pub sender: (String, String),
    /// The receiver's number and OID.
    pub receiver: (String, String),
    /// 実施区分: 1 特定健診, 2 特定保健指導.
    pub service: u8,
    /// 総ファイル数: the files the archive's DATA (and CLAIMS) hold.
    pub total_records: u32,
}

/// Reads an index document; errors name the element at fault.
pub fn read(root: &Element) -> Result<Index, Vec<(String, String)>> {
    let mut errors = Vec::new();
    if &*root.name != "index" {
        errors.push((
            "index".into(),
            format!("the root element is <{}>, not <index>", root.name),
        ));
        return Err(errors);
    }
    if &*root.namespace != NAMESPACE && &*root.namespace != NAMESPACE_2007 {
        errors.push((
            "index".into(),
            format!(
                "namespace '{}' is neither the current nor the 2007 one",
                root.namespace
            ),
        ));
    }
    let mut attr = |path: &str, attribute: &str| -> Option<String> {
        let mut el = root;
        for step in path.split('/') {
            match el.child(step) {
                Some(c) => el = c,
                None => {
                    errors.push((path.to_owned(), "is required".into()));
                    return None;
                }
            }
        }
        match el.attribute(attribute) {
            Some(v) if !v.trim().is_empty() => Some(v.trim().to_owned()),
            _ => {
                errors.push((format!("{path}/@{attribute}"), "is required".into()));
                None
            }
        }
    };
    let interaction = attr("interactionType", "code");
    let created = attr("creationTime", "value");
    let sender = (attr("sender/id", "extension"), attr("sender/id", "root"));
    let receiver = (
        attr("receiver/id", "extension"),
        attr("receiver/id", "root"),
    );
    let service = attr("serviceEventType", "code");
    let total = attr("totalRecordCount", "value");
    let mut fail = |path: &str, reason: String| errors.push((path.to_owned(), reason));
    let interaction_type = interaction.and_then(|v| match v.parse::<u8>() {
        Ok(n @ 1..=13) => Some(n),
        _ => {
            fail(
                "interactionType/@code",
                format!("'{v}' is not a 種別 code (1 to 13)"),
            );
            None
        }
    });
    let created = created.and_then(|v| {
        crate::parse_yyyymmdd(&v).or_else(|| {
            fail("creationTime/@value", "must be a date YYYYMMDD".into());
            None
        })
    });
    let service = service.and_then(|v| match v.as_str() {
        "1" => Some(1),
        "2" => Some(2),
        _ => {
            fail(
                "serviceEventType/@code",
                "must be 1 (特定健診) or 2 (特定保健指導)".into(),
            );
            None
        }
    });
    let total_records = total.and_then(|v| {
        v.parse::<u32>().ok().or_else(|| {
            fail("totalRecordCount/@value", "must be a count".into());
            None
        })
    });
    // A party whose id or root is missing was already reported as required.
    let mut party = |label: &str, (id, oid): (Option<String>, Option<String>)| {
        let (id, oid) = (id?, oid?);
        let ok = match oid.as_str() {
            INSTITUTION_OID => id.len() == 10 && id.bytes().all(|b| b.is_ascii_digit()),
            INSURER_OID => id.len() == 8 && InsurerNumber::parse(&id).is_ok(),
            _ => false,
        };
        if !ok {
            errors.push((
                format!("{label}/id/@extension"),
                format!(
                    "'{id}' is not a 10-digit institution number (root {INSTITUTION_OID}) or an 8-digit insurer number with its check digit (root {INSURER_OID})"
                ),
            ));
            return None;
        }
        Some((id, oid))
    };
    let sender = party("sender", sender);
    let receiver = party("receiver", receiver);
    match (
        interaction_type,
        created,
        sender,
        receiver,
        service,
        total_records,
    ) {
        (
            Some(interaction_type),
            Some(created),
            Some(sender),
            Some(receiver),
            Some(service),
            Some(total_records),
        ) if errors.is_empty() => Ok(Index {
            interaction_type,
            created,
            sender,
            receiver,
            service,
            total_records,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(ns: &str, insurer: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<index xmlns="{ns}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <interactionType code="1"/>
  <creationTime value="20240527"/>
  <sender><id root="1.2.392.200119.6.102" extension="5521111111"/></sender>
  <receiver><id root="1.2.392.200119.6.101" extension="{insurer}"/></receiver>
  <serviceEventType code="1"/>
  <totalRecordCount value="8"/>
</index>"#
        )
    }

    #[test]
    fn both_namespaces_are_read() {
        for ns in [NAMESPACE, NAMESPACE_2007] {
            let doc = crate::xml::parse(index(ns, "00280081").as_bytes()).unwrap();
            let i = read(&doc).unwrap();
            assert_eq!(
                (
                    i.interaction_type,
                    i.service,
                    i.total_records,
                    i.sender.0.as_str(),
                    i.receiver.0.as_str()
                ),
                (1, 1, 8, "5521111111", "00280081")
            );
        }
    }

    #[test]
    fn errors_name_the_element() {
        let doc = crate::xml::parse(index(NAMESPACE, "280081").as_bytes()).unwrap();
        let e = read(&doc).unwrap_err();
        assert_eq!(e[0].0, "receiver/id/@extension", "{e:?}");
        let doc = crate::xml::parse(
            index("urn:other", "00280081")
                .replace("<creationTime value=\"20240527\"/>", "")
                .as_bytes(),
        )
        .unwrap();
        let e = read(&doc).unwrap_err();
        let paths: Vec<&str> = e.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["index", "creationTime"]);
    }
}
