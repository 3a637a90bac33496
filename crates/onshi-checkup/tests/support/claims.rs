//! Claims (cc08) for test archives, filled in from the MHLW template. Shared by the checkup
//! crate's tests and the server's (which include this file by path).

/// The claim of the document `content` (its card and institution; the MHLW claim template as
/// yokoyamatoyou/CSVXLM2 ships it, `tests/fixtures/cc08-template.xml`, in
/// the old namespace as real producers write it): `unit` yen, of which the person paid
/// `paid` at the desk.
pub fn claim_for(content: &str, unit: i64, paid: i64) -> String {
    let (insurer, symbol, number, branch, institution) =
        match onshi_checkup::xml::parse(content.as_bytes())
            .ok()
            .and_then(|r| onshi_checkup::document::read(&r).ok())
        {
            Some(d) => (d.insurer, d.symbol, d.number, d.branch, d.institution),
            None => Default::default(),
        };
    include_str!("../fixtures/cc08-template.xml")
        .replace(
            "https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html",
            "http://tokuteikenshin.jp/checkup/2007",
        )
        .replace(
            r#"root="1.2.392.200119.6.102" extension="""#,
            &format!(r#"root="1.2.392.200119.6.102" extension="{institution}""#),
        )
        .replace(
            r#"root="1.2.392.200119.6.101" extension="""#,
            &format!(r#"root="1.2.392.200119.6.101" extension="{insurer}""#),
        )
        .replace(
            r#"root="1.2.392.200119.6.204" extension="""#,
            &format!(r#"root="1.2.392.200119.6.204" extension="{symbol}""#),
        )
        .replace(
            r#"root="1.2.392.200119.6.205" extension="""#,
            &format!(r#"root="1.2.392.200119.6.205" extension="{number}""#),
        )
        .replace(
            r#"root="1.2.392.200119.6.211" extension="""#,
            &format!(r#"root="1.2.392.200119.6.211" extension="{branch}""#),
        )
        .replace(r#"<claimType code=""/>"#, r#"<claimType code="1"/>"#)
        .replace(
            r#"<unitAmount value="""#,
            &format!(r#"<unitAmount value="{unit}""#),
        )
        .replace(
            r#"<paymentAmount value="""#,
            &format!(r#"<paymentAmount value="{paid}""#),
        )
        .replace(
            r#"<paymentByOtherProgram value="""#,
            r#"<paymentByOtherProgram value="0""#,
        )
        .replace(
            r#"<claimAmount value="""#,
            &format!(r#"<claimAmount value="{}""#, unit - paid),
        )
}
