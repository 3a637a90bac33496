//! A checkup claim (`CLAIMS/c….xml`, `checkupClaim` of `cc08_V08.xsd`, in either namespace):
//! whose checkup it bills (the institution and the card key, cross-checked with the DATA
//! document of the same name) and the settlement's money in yen. Reading only; the archive
//! reader pairs each claim with its document and adds up the totals against the summary.

use crate::index::{NAMESPACE, NAMESPACE_2007};
use crate::xml::Element;

/// What a claim bills.
#[derive(Clone, PartialEq, Eq)]
pub struct Claim {
    /// The examining institution (`subjectPerson/performerOrganization/id/@extension`).
    pub institution: String,
    /// 保険者番号.
    pub insurer: String,
    /// 記号 (may be empty).
    pub symbol: String,
    /// 番号.
    pub number: String,
    /// 枝番 (may be empty).
    pub branch: String,
    /// 請求区分 (`settlement/claimType/@code`).
    pub claim_type: String,
    /// 単価（合計） (`settlement/unitAmount`).
    pub unit_amount: i64,
    /// 窓口支払金額 (`settlement/paymentAmount`).
    pub payment_amount: i64,
    /// 他の健診側負担額 (`settlement/paymentByOtherProgram`, 0 when absent).
    pub other_amount: i64,
    /// 請求金額 (`settlement/claimAmount`).
    pub claim_amount: i64,
}

impl std::fmt::Debug for Claim {
    /// The card key is personal data: not shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claim")
            .field("institution", &self.institution)
            .field("claim_amount", &self.claim_amount)
            .finish_non_exhaustive()
    }
}

impl Claim {
    /// Whether the amounts add up: 請求金額 = 単価合計 − 窓口支払金額 − 他の健診側負担額.
    pub fn adds_up(&self) -> bool {
        self.unit_amount - self.payment_amount - self.other_amount == self.claim_amount
    }
}

fn at<'a>(root: &'a Element, path: &str) -> Option<&'a Element> {
    path.split('/').try_fold(root, |el, step| el.child(step))
}

/// Reads a claim; errors are `(element path, reason)`.
pub fn read(root: &Element) -> Result<Claim, Vec<(String, String)>> {
    let mut errors = Vec::new();
    if &*root.name == "healthGuidanceClaim" {
        return Err(vec![(
            root.name.to_string(),
            "a 特定保健指導 claim (gc08): onshi imports 特定健診 archives (実施区分 1)".into(),
        )]);
    }
    if &*root.name != "checkupClaim" {
        return Err(vec![(
            root.name.to_string(),
            "the root element must be <checkupClaim>".into(),
        )]);
    }
    if &*root.namespace != NAMESPACE && &*root.namespace != NAMESPACE_2007 {
        errors.push((
            "checkupClaim".into(),
            format!(
                "namespace '{}' is neither the current nor the 2007 one",
                root.namespace
            ),
        ));
    }
    let mut attr = |path: &str, attribute: &str, required: bool| -> String {
        let value = at(root, path)
            .and_then(|e| e.attribute(attribute))
            .map(str::trim)
            .unwrap_or_default();
        if value.is_empty() && required {
            errors.push((format!("{path}/@{attribute}"), "is required".into()));
        }
        value.to_owned()
    };
    let card = "subjectPerson/insuranceCard";
    let institution = attr("subjectPerson/performerOrganization/id", "extension", true);
    let insurer = attr(&format!("{card}/insurerNumber"), "extension", true);
    let symbol = attr(&format!("{card}/symbol"), "extension", false);
    let number = attr(&format!("{card}/number"), "extension", true);
    let branch = attr(&format!("{card}/branchCode"), "extension", false);
    let claim_type = attr("settlement/claimType", "code", true);
    let amounts: Vec<(String, String)> = [
        ("settlement/unitAmount", true),
        ("settlement/paymentAmount", true),
        ("settlement/paymentByOtherProgram", false),
        ("settlement/claimAmount", true),
    ]
    .into_iter()
    .map(|(path, required)| (path.to_owned(), attr(path, "value", required)))
    .collect();
    let mut yen = |(path, text): &(String, String)| -> i64 {
        if text.is_empty() {
            return 0;
        }
        match text.parse::<i64>() {
            Ok(n) if n >= 0 => n,
            _ => {
                errors.push((
                    format!("{path}/@value"),
                    "must be a whole number of yen, 0 or more".into(),
                ));
                0
            }
        }
    };
    let [unit_amount, payment_amount, other_amount, claim_amount] =
        [&amounts[0], &amounts[1], &amounts[2], &amounts[3]].map(&mut yen);
    if errors.is_empty() {
        Ok(Claim {
            institution,
            insurer,
            symbol,
            number,
            branch,
            claim_type,
            unit_amount,
            payment_amount,
            other_amount,
            claim_amount,
        })
    } else {
        Err(errors)
    }
}
