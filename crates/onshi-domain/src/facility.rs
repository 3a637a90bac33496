//! Facilities as the operator knows them (保険医療機関・薬局): their kind, where they are, whether
//! they are public, and for pharmacies the chain they belong to; what the adoption dashboard
//! counts and the subsidy rules ([`crate::subsidy`]) read.
//!
//! The facility code ([`FacilityCode`]) already says the prefecture and the 点数表; a master row
//! must agree with it: a hospital or medical clinic is 医科 (1), a dental clinic 歯科 (3), a
//! pharmacy 調剤 (4).

use std::fmt;

use crate::employer::Prefecture;
use crate::ids::{FacilityCode, FeeSchedule};
use crate::text::normalize_compact;

/// 施設種別: the four kinds the rollout figures are published by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FacilityKind {
    /// 病院 (20 beds or more).
    Hospital,
    /// 医科診療所.
    MedicalClinic,
    /// 歯科診療所.
    DentalClinic,
    /// 薬局.
    Pharmacy,
}

impl FacilityKind {
    /// Every kind, in the order the published tables list them.
    pub const ALL: [FacilityKind; 4] = [
        Self::Hospital,
        Self::MedicalClinic,
        Self::DentalClinic,
        Self::Pharmacy,
    ];

    /// Reads the Japanese name (病院, 医科診療所, 歯科診療所, 薬局) or the code name (`hospital`,
    /// `medical_clinic`, `dental_clinic`, `pharmacy`).
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = normalize_compact(input);
        Ok(match s.as_str() {
            "病院" | "hospital" => Self::Hospital,
            "医科診療所" | "診療所" | "medical_clinic" => Self::MedicalClinic,
            "歯科診療所" | "dental_clinic" => Self::DentalClinic,
            "薬局" | "pharmacy" => Self::Pharmacy,
            _ => {
                return Err(
                    "must be 病院, 医科診療所, 歯科診療所 or 薬局 (hospital, medical_clinic, \
                     dental_clinic, pharmacy)"
                        .into(),
                );
            }
        })
    }

    /// The code name, as stored and in the API.
    pub fn code(self) -> &'static str {
        match self {
            Self::Hospital => "hospital",
            Self::MedicalClinic => "medical_clinic",
            Self::DentalClinic => "dental_clinic",
            Self::Pharmacy => "pharmacy",
        }
    }

    /// The Japanese name.
    pub fn japanese(self) -> &'static str {
        match self {
            Self::Hospital => "病院",
            Self::MedicalClinic => "医科診療所",
            Self::DentalClinic => "歯科診療所",
            Self::Pharmacy => "薬局",
        }
    }

    /// The 点数表 a facility of this kind bills under.
    pub fn fee_schedule(self) -> FeeSchedule {
        match self {
            Self::Hospital | Self::MedicalClinic => FeeSchedule::Medical,
            Self::DentalClinic => FeeSchedule::Dental,
            Self::Pharmacy => FeeSchedule::Pharmacy,
        }
    }
}

impl fmt::Display for FacilityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.japanese())
    }
}

/// How a facility confirmed a patient's insurance: the figure the country watches as its
/// card-use rate is the share of card and smartphone among all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckChannel {
    /// マイナ保険証: the My Number card at a reader.
    Card,
    /// The smartphone's user-authentication certificate (スマホ保険証).
    Smartphone,
    /// The insurance card's number (保険証の記号番号等).
    Number,
}

impl CheckChannel {
    /// Every channel.
    pub const ALL: [CheckChannel; 3] = [Self::Card, Self::Smartphone, Self::Number];
    /// `card`, `smartphone` or `number`, as stored.
    pub fn code(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::Smartphone => "smartphone",
            Self::Number => "number",
        }
    }
    /// From the stored code.
    pub fn from_code(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == s)
    }
}

/// A pharmacy chain is 大型チェーン薬局 for the subsidy when its group receives at least this many
/// prescriptions a month (月4万回以上).
pub const LARGE_CHAIN_PRESCRIPTIONS: u32 = 40_000;

/// One facility of the operator's master (施設マスタ), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacilityRecord {
    /// 医療機関コード.
    pub code: FacilityCode,
    /// Its name.
    pub name: String,
    /// 施設種別.
    pub kind: FacilityKind,
    /// 都道府県, the same as the code's first two digits.
    pub prefecture: Prefecture,
    /// 公立・公的 (run by a public body or a public-sector organisation).
    pub public: bool,
    /// 病床数 (hospitals have 20 or more; clinics 0–19; pharmacies 0).
    pub beds: u32,
    /// For pharmacies: the chain group, if any.
    pub chain_group: Option<String>,
    /// For pharmacies in a chain: the group's prescriptions a month.
    pub group_prescriptions: Option<u32>,
}

impl FacilityRecord {
    /// Whether this is a 大型チェーン薬局 (a pharmacy whose group has
    /// [`LARGE_CHAIN_PRESCRIPTIONS`] or more prescriptions a month).
    pub fn large_chain_pharmacy(&self) -> bool {
        self.kind == FacilityKind::Pharmacy
            && self
                .group_prescriptions
                .is_some_and(|n| n >= LARGE_CHAIN_PRESCRIPTIONS)
    }
}

/// The raw fields of a facility master row, as text (a CSV line, a form).
#[derive(Debug, Clone, Default)]
pub struct FacilityInput<'a> {
    /// `code`.
    pub code: &'a str,
    /// `name`.
    pub name: &'a str,
    /// `kind`.
    pub kind: &'a str,
    /// `prefecture`.
    pub prefecture: &'a str,
    /// `public`: 1/0, yes/no, 公立/公的/私立.
    pub public: &'a str,
    /// `beds`.
    pub beds: &'a str,
    /// `chain_group` (pharmacies only; may be empty).
    pub chain_group: &'a str,
    /// `group_prescriptions` (pharmacies in a chain only; may be empty).
    pub group_prescriptions: &'a str,
}

/// The longest facility name kept.
pub const FACILITY_NAME_MAX: usize = 200;

impl FacilityInput<'_> {
    /// Validates the row; an error names the field (the master file's column name).
    pub fn validate(&self) -> Result<FacilityRecord, crate::FieldError> {
        let err = |field: &'static str| move |reason: String| crate::FieldError::new(field, reason);
        let code = FacilityCode::parse(self.code).map_err(err("code"))?;
        let name = self.name.trim();
        if name.is_empty() {
            return Err(crate::FieldError::new("name", "is required"));
        }
        if name.chars().count() > FACILITY_NAME_MAX {
            return Err(crate::FieldError::new(
                "name",
                format!("must be at most {FACILITY_NAME_MAX} characters"),
            ));
        }
        let kind = FacilityKind::parse(self.kind).map_err(err("kind"))?;
        if kind.fee_schedule() != code.fee_schedule() {
            return Err(crate::FieldError::new(
                "kind",
                format!(
                    "{} does not match the code's 点数表 digit {} ({})",
                    kind.japanese(),
                    &code.as_str()[2..3],
                    match code.fee_schedule() {
                        FeeSchedule::Medical => "医科: 病院 or 医科診療所",
                        FeeSchedule::Dental => "歯科: 歯科診療所",
                        FeeSchedule::Pharmacy => "調剤: 薬局",
                    }
                ),
            ));
        }
        let prefecture = Prefecture::parse(self.prefecture).map_err(err("prefecture"))?;
        if prefecture.number() != code.prefecture() {
            return Err(crate::FieldError::new(
                "prefecture",
                format!(
                    "{:02} is not the code's prefecture {:02}",
                    prefecture.number(),
                    code.prefecture()
                ),
            ));
        }
        let public = match normalize_compact(self.public).as_str() {
            "1" | "yes" | "true" | "公立" | "公的" | "公立・公的" => true,
            "0" | "" | "no" | "false" | "私立" | "民間" => false,
            _ => {
                return Err(crate::FieldError::new(
                    "public",
                    "must be 1 (公立・公的) or 0",
                ));
            }
        };
        let beds = match normalize_compact(self.beds).as_str() {
            "" => 0,
            s => s
                .parse::<u32>()
                .map_err(|_| crate::FieldError::new("beds", "must be a whole number"))?,
        };
        match kind {
            FacilityKind::Hospital if beds < 20 => {
                return Err(crate::FieldError::new(
                    "beds",
                    format!("a hospital has 20 beds or more, got {beds}"),
                ));
            }
            FacilityKind::MedicalClinic | FacilityKind::DentalClinic if beds > 19 => {
                return Err(crate::FieldError::new(
                    "beds",
                    format!("a clinic has at most 19 beds, got {beds}"),
                ));
            }
            FacilityKind::Pharmacy if beds > 0 => {
                return Err(crate::FieldError::new("beds", "a pharmacy has no beds"));
            }
            _ => {}
        }
        let chain_group = Some(self.chain_group.trim())
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let group_prescriptions = match normalize_compact(self.group_prescriptions).as_str() {
            "" => None,
            s => Some(s.parse::<u32>().map_err(|_| {
                crate::FieldError::new("group_prescriptions", "must be a whole number")
            })?),
        };
        if kind != FacilityKind::Pharmacy
            && (chain_group.is_some() || group_prescriptions.is_some())
        {
            let field = if chain_group.is_some() {
                "chain_group"
            } else {
                "group_prescriptions"
            };
            return Err(crate::FieldError::new(
                field,
                "only a pharmacy belongs to a chain",
            ));
        }
        if group_prescriptions.is_some() && chain_group.is_none() {
            return Err(crate::FieldError::new(
                "group_prescriptions",
                "is given without a chain_group",
            ));
        }
        Ok(FacilityRecord {
            code,
            name: name.to_owned(),
            kind,
            prefecture,
            public,
            beds,
            chain_group,
            group_prescriptions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(code: &'a str, kind: &'a str) -> FacilityInput<'a> {
        FacilityInput {
            code,
            name: "オンシ病院",
            kind,
            prefecture: "13",
            public: "1",
            beds: "120",
            ..FacilityInput::default()
        }
    }

    #[test]
    fn a_row_must_agree_with_its_code() {
        let ok = row("1311111111", "病院").validate().unwrap();
        assert_eq!(ok.kind, FacilityKind::Hospital);
        assert!(ok.public);
        let e = row("1331111111", "病院").validate().unwrap_err();
        assert_eq!(e.field, "kind");
        assert!(e.reason.contains("歯科"), "{}", e.reason);
        let mut other_pref = row("1311111111", "hospital");
        other_pref.prefecture = "27";
        assert_eq!(other_pref.validate().unwrap_err().field, "prefecture");
        let mut clinic = row("1311111111", "医科診療所");
        assert_eq!(clinic.validate().unwrap_err().field, "beds");
        clinic.beds = "0";
        assert_eq!(clinic.validate().unwrap().kind, FacilityKind::MedicalClinic);
    }

    #[test]
    fn a_large_chain_is_a_pharmacy_group_of_forty_thousand_prescriptions() {
        let mut p = row("1341111111", "薬局");
        p.beds = "";
        p.chain_group = "オンシ薬局グループ";
        p.group_prescriptions = "40000";
        assert!(p.validate().unwrap().large_chain_pharmacy());
        p.group_prescriptions = "39999";
        assert!(!p.validate().unwrap().large_chain_pharmacy());
        p.chain_group = "";
        assert_eq!(p.validate().unwrap_err().field, "group_prescriptions");
        let mut h = row("1311111111", "病院");
        h.chain_group = "X";
        assert_eq!(h.validate().unwrap_err().field, "chain_group");
    }
}
