//! onshi's results against what real facility software reads (`tests/samples/`, with sources):
//! the element paths of each sample, values ignored, must be in onshi's answer for the same kind
//! of patient, in the same place; and every path onshi writes must be in a sample of that kind
//! or in the element list the interface documents (`../shared/reference/onshi-interface.md`
//! §1.4, copied into `DOCUMENTED`). The only sample elements onshi does not write are listed in
//! `NOT_PRODUCED`, each with its reason.

use std::collections::BTreeSet;

use onshi_api::{
    Consent, ElderlyCertificateInfo, EligibilityResult, LimitCertificateInfo, Qualification,
};
use onshi_interface::xml::{self, Element};
use onshi_interface::{BulkUnit, Charset, HeaderEcho, SearchInfo, bulk_result, face_result};

fn paths_of(el: &Element, prefix: &str, out: &mut BTreeSet<String>) {
    let path = if prefix.is_empty() {
        el.name.clone()
    } else {
        format!("{prefix}/{}", el.name)
    };
    for child in &el.children {
        paths_of(child, &path, out);
    }
    out.insert(path);
}

fn paths(bytes: &[u8]) -> BTreeSet<String> {
    let root = xml::parse(bytes).unwrap_or_else(|e| panic!("sample does not parse: {e}"));
    let mut out = BTreeSet::new();
    paths_of(&root, "", &mut out);
    out
}

const RESULT: &str = "XmlMsg/MessageBody/ResultList/ResultOfQualificationConfirmation";

/// Elements of a result that the interface documents (§1.4 of the reference) and onshi writes
/// when it has them, though none of the collected samples happens to carry them.
const DOCUMENTED: [&str; 11] = [
    "DisqualificationDate",
    "ReasonOfLoss",
    "InsuredCardExpirationDate",
    "PreschoolClassification",
    "ElderlyRecipientCertificateInfo",
    "ElderlyRecipientCertificateInfo/ElderlyRecipientCertificateDate",
    "ElderlyRecipientCertificateInfo/ElderlyRecipientValidStartDate",
    "ElderlyRecipientCertificateInfo/ElderlyRecipientContributionRatio",
    "LimitApplicationCertificateRelatedConsTime",
    "LimitApplicationCertificateRelatedInfo/LimitApplicationCertificateDate",
    "LimitApplicationCertificateRelatedInfo/LimitApplicationCertificateValidStartDate",
];

/// Sample elements onshi does not write, and why.
const NOT_PRODUCED: [(&str, &str); 0] = [];

/// Every face sample.
const FACE_SAMPLES: [(&str, &[u8]); 5] = [
    (
        "myclinic-ts",
        include_bytes!("samples/myclinic-ts__onshi-face.test__face-sample.xml"),
    ),
    (
        "MynaReception face utf8",
        include_bytes!("samples/MynaReception__FaceTests__face-sample-utf8.xml"),
    ),
    (
        "MynaReception face sjis",
        include_bytes!("samples/MynaReception__FaceTests__face-sample-sjis.xml"),
    ),
    (
        "MynaReception capture",
        include_bytes!("samples/MynaReception__CaptureTests__face-sample.xml"),
    ),
    (
        "sikakuxml",
        include_bytes!("samples/sikakuxml__generated__OQSsiquc01res_face_20261127162720.xml"),
    ),
];

/// What a result may contain: every face sample's paths and the documented ones.
fn known() -> BTreeSet<String> {
    let mut all = documented();
    for (_, bytes) in FACE_SAMPLES {
        all.extend(paths(bytes));
    }
    all
}

fn documented() -> BTreeSet<String> {
    DOCUMENTED.iter().map(|p| format!("{RESULT}/{p}")).collect()
}

/// A dependant as the richest samples show one: card class and dates, whose card it is,
/// address and post number, a 国保 insurer.
fn dependant() -> Qualification {
    Qualification {
        validity_code: 1,
        insurer_number: "138057".into(),
        symbol: "12-34".into(),
        number: "4260".into(),
        branch: "01".into(),
        relationship_code: 2,
        name: "試験 太郎".into(),
        name_kana: "シケン タロウ".into(),
        sex_code: 1,
        birth_date: "20010327".into(),
        qualified_from: "20191001".into(),
        qualified_until: None,
        copay_ratio: "030".into(),
        limit_certificate: None,
        insurer_name: "試験市".into(),
        card_class: "01".into(),
        card_issued: Some("20191001".into()),
        card_valid_from: "20191001".into(),
        card_valid_until: None,
        insured_name: Some("試験 一郎".into()),
        address: Some("東京都".into()),
        post_number: Some("123-4567".into()),
        preschool: false,
        loss_reason_code: None,
        elderly_certificate: None,
    }
}

fn result(q: Qualification, limit_at: Option<&str>) -> EligibilityResult {
    EligibilityResult {
        validity_code: 1,
        validity_label: "有効".into(),
        consultation_date: "20261128".into(),
        qualifications: vec![q],
        new_qualification: None,
        certificate_kind: Some("card".into()),
        consents: ["medication", "checkup"]
            .map(|kind| Consent {
                kind: kind.into(),
                given_at: "20261128003000".into(),
                expires_at: "20261129003000".into(),
            })
            .into(),
        limit_consent_at: limit_at.map(str::to_owned),
        check_reference: None,
    }
}

fn echo(charset: Charset) -> HeaderEcho<'static> {
    HeaderEcho {
        charset,
        executed_at: "20261128003000",
        confirmation_date: Some("20261128"),
        institution: "1311234567",
        file_identifier: Some("afi"),
    }
}

/// Compares: every path of each of `samples` in onshi's (but `NOT_PRODUCED`), every onshi path in
/// some face sample or documented. Returns what failed, to report every difference at once.
fn compare(samples: &[(&str, &[u8])], ours: &[u8], only_under: &str) -> Vec<String> {
    let ours: BTreeSet<String> = paths(ours)
        .into_iter()
        .filter(|p| p.starts_with(only_under))
        .collect();
    let union = known();
    let mut problems = Vec::new();
    for (name, bytes) in samples {
        for path in paths(bytes) {
            if !path.starts_with(only_under) {
                continue;
            }
            let excused = NOT_PRODUCED.iter().any(|(p, _)| path.ends_with(p));
            if !ours.contains(&path) && !excused {
                problems.push(format!("{name}: onshi lacks {path}"));
            }
        }
    }
    for path in &ours {
        if !union.contains(path) {
            problems.push(format!("onshi writes {path}, which no sample or list has"));
        }
    }
    problems
}

#[test]
fn face_results_carry_what_the_samples_carry_where_they_carry_it() {
    let samples = &FACE_SAMPLES[..4];
    for charset in [Charset::Utf8, Charset::ShiftJis] {
        let ours = face_result(&echo(charset), &result(dependant(), None));
        let problems = compare(samples, &ours, "XmlMsg");
        assert!(problems.is_empty(), "{charset:?}:\n{}", problems.join("\n"));
    }
}

#[test]
fn a_face_result_with_limit_information_matches_the_producer_sample() {
    let mut q = dependant();
    q.limit_certificate = Some(LimitCertificateInfo {
        class_code: "01".into(),
        bracket_code: "A01".into(),
        bracket_label: "ア".into(),
        issued: "20260401".into(),
        valid_from: "20260401".into(),
        valid_until: None,
        long_term_from: None,
    });
    let samples = [FACE_SAMPLES[4], FACE_SAMPLES[0]];
    let ours = face_result(&echo(Charset::ShiftJis), &result(q, Some("20261128003000")));
    let problems = compare(&samples, &ours, "XmlMsg");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A 70–74-year-old's 高齢受給者証 is written in its documented place (no sample carries one).
#[test]
fn an_elderly_certificate_is_in_its_documented_place() {
    let mut q = dependant();
    q.elderly_certificate = Some(ElderlyCertificateInfo {
        issued: "20240501".into(),
        valid_from: "20240501".into(),
        valid_until: None,
        copay_ratio: "020".into(),
    });
    let ours = paths(&face_result(&echo(Charset::Utf8), &result(q, None)));
    let ratio =
        format!("{RESULT}/ElderlyRecipientCertificateInfo/ElderlyRecipientContributionRatio");
    assert!(ours.contains(&ratio), "{ours:?}");
    let known = known();
    let unknown: Vec<&String> = ours.difference(&known).collect();
    assert!(unknown.is_empty(), "{unknown:?}");
}

/// The two-phase bulk sample is a 照会番号 registration result (`OQSmuimm02res`), which onshi
/// does not serve; its header is the two-phase header every bulk result shares, and onshi's bulk
/// confirmation result carries it the same way.
#[test]
fn bulk_results_carry_the_two_phase_header_of_the_sample() {
    let sample: &[u8] =
        include_bytes!("samples/MynaReception__BulkTests__FinalXml__OQSmuimm02res-shape.xml");
    let unit = BulkUnit {
        search: SearchInfo {
            insurer_number: "138057".into(),
            number: "4260".into(),
            branch: "01".into(),
            arbitrary_identifier: Some("patient-15".into()),
            ..SearchInfo::default()
        },
        outcome: Ok(result(dependant(), None)),
    };
    let ours = paths(&bulk_result(&echo(Charset::Utf8), "R15", Some(&[unit])));
    for path in paths(sample)
        .into_iter()
        .filter(|p| p.starts_with("XmlMsg/MessageHeader"))
    {
        assert!(ours.contains(&path), "onshi's bulk result lacks {path}");
    }
    assert!(ours.contains(
        "XmlMsg/MessageBody/BulkConfirmUnit/QualificationConfirmSearchInfo/ArbitraryIdentifier"
    ));
}
