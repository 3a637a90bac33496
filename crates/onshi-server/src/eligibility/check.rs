//! Checks: by card (a proven card), by insurance-card number, and by the reference of a recent
//! card check (FHIR). Each judges the qualifications it read with the domain's rules, writes the
//! check to the audit log, and only then returns the result.

use time::{Date, OffsetDateTime};

use onshi_api::{
    CardCheckRequest, Consent, ElderlyCertificateInfo, EligibilityResult, LimitCertificateInfo,
    NumberCheckRequest, Qualification,
};
use onshi_domain::eligibility::{Judgement, Validity, judge_card_number, judge_person};
use onshi_domain::japan::{interface_date, interface_time, japan_date};
use onshi_domain::{
    AuditAction, CardClass, ChallengePurpose, ConsentKind, FacilityCode, FieldError, MemberInput,
    PersonRef, is_preschool, parse_date,
};
use onshi_store::{Actor, CheckAudit, MemberRecord};

use super::limits::refuse;
use onshi_domain::facility::CheckChannel;

use super::proof::{Proven, verify};
use super::{CHECK_REFERENCE_LIFETIME, CONSENT_LIFETIME, CheckError};
use crate::AppState;

/// A check by card at `facility`: the proof verified, the card's registration for insurance use
/// required, the consents given at the reader recorded, and the challenge consumed, all in the
/// check's one audit commit.
pub async fn card_check(
    state: &AppState,
    facility: &FacilityCode,
    req: &CardCheckRequest,
) -> Result<EligibilityResult, CheckError> {
    admit_check(state, facility).await?;
    let date = consultation_date(state, req.consultation_date.as_deref(), "consultation_date")?;
    let kinds = req
        .consent
        .iter()
        .map(|k| ConsentKind::parse(k))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            CheckError::field(
                "consent",
                "each must be medication, checkup, clinical or limit",
            )
        })?;
    let actor = Actor::Facility(facility.clone());
    let now = state.clock.now();
    let mut audit = state.store.begin_check(&actor, now);
    let Proven {
        cert,
        challenge,
        holder,
        qualifications,
    } = verify(
        state,
        facility.as_str(),
        ChallengePurpose::Check,
        Some(facility),
        Some(&mut audit),
        &req.proof(),
    )
    .await?;
    let person = &holder.person;
    if !holder.registered {
        if !state
            .store
            .consume_challenge(&challenge, now, person)
            .await?
        {
            return Err(CheckError::ChallengeReplayed);
        }
        state
            .store
            .record_check(
                now,
                &actor,
                AuditAction::CheckCard,
                Some(person),
                "not registered",
            )
            .await?;
        return Err(CheckError::NotRegistered);
    }
    // The consents given now are written with the check's audit entries, in one commit that
    // also consumes the challenge; the answer shows them without reading them back.
    let until = now + CONSENT_LIFETIME;
    let consents = holder.consents_with(&kinds, now, until);
    let limit = consents
        .iter()
        .find(|c| c.kind == ConsentKind::Limit)
        .map(|c| c.given_at);
    audit.answer_challenge(&challenge, person, facility, &kinds, until);
    audit.count_for(
        facility,
        match cert.kind {
            onshi_pki::CertKind::Card => CheckChannel::Card,
            onshi_pki::CertKind::Smartphone => CheckChannel::Smartphone,
        },
    );
    let mut out = judged(
        state,
        audit,
        person,
        &qualifications,
        date,
        AuditAction::CheckCard,
        limit,
    )
    .await?;
    out.check_reference = Some(challenge.id);
    out.certificate_kind = Some(cert.kind.as_str().to_owned());
    out.consents = consents
        .into_iter()
        .map(|c| Consent {
            kind: c.kind.as_str().to_owned(),
            given_at: interface_time(c.given_at),
            expires_at: interface_time(c.expires_at),
        })
        .collect();
    Ok(out)
}

/// Takes a check token of `facility` ([`super::limits`]).
pub async fn admit_check(state: &AppState, facility: &FacilityCode) -> Result<(), CheckError> {
    match state.rate_limits.admit_check(facility, state.clock.now()) {
        Ok(()) => Ok(()),
        Err(refusal) => Err(refuse(state, facility, refusal).await),
    }
}

/// A check by card number at `facility`: the single look-up and a FHIR request naming a card
/// (one check of the facility's check limit, then [`number_lookup`]).
pub async fn number_check(
    state: &AppState,
    facility: &FacilityCode,
    req: &NumberCheckRequest,
) -> Result<EligibilityResult, CheckError> {
    admit_check(state, facility).await?;
    number_lookup(state, facility, req).await
}

/// One look-up by card number (a single check, or a row of a bulk look-up). As in the national
/// interface, the birth date (生年月日) is required and must match: a card number alone, or with
/// another birth date, answers 該当資格なし with no personal data, and counts against the
/// facility's mismatch limit; once that is used up, look-ups are refused before anything is read.
pub async fn number_lookup(
    state: &AppState,
    facility: &FacilityCode,
    req: &NumberCheckRequest,
) -> Result<EligibilityResult, CheckError> {
    let date = consultation_date(state, req.consultation_date.as_deref(), "consultation_date")?;
    let input = MemberInput {
        insurer_number: &req.insurer_number,
        symbol: &req.symbol,
        number: &req.number,
        branch: &req.branch,
        ..Default::default()
    };
    let mut errors = Vec::new();
    let key = input.card_key().map_err(|e| errors.extend(e)).ok();
    let birth = match req.birth_date.as_deref().filter(|b| !b.trim().is_empty()) {
        Some(b) => parse_date(b)
            .map_err(|r| errors.push(FieldError::new("birth_date", r)))
            .ok(),
        None => {
            errors.push(FieldError::new(
                "birth_date",
                "is required (生年月日): a look-up by card number needs the patient's birth date",
            ));
            None
        }
    };
    let (Some(key), Some(birth)) = (key, birth) else {
        return Err(CheckError::Invalid(errors));
    };
    let now = state.clock.now();
    if let Err(refusal) = state.rate_limits.admit_lookup(facility, now) {
        return Err(refuse(state, facility, refusal).await);
    }
    let actor = Actor::Facility(facility.clone());
    let mut audit = state.store.begin_check(&actor, now);
    audit.count_for(facility, CheckChannel::Number);
    let member = state.store.find_member_for_check(&mut audit, &key).await?;
    let mut others = Vec::new();
    if let Some(m) = &member
        && !m.details.covers(date)
        && let Some(person) = &m.details.person
    {
        others = state
            .store
            .qualifications_for_check(&mut audit, person, Some(date))
            .await?;
        others.retain(|o| o.id != m.id);
    }
    let judgement = judge_card_number(member.as_ref(), &others, |m| &m.details, Some(birth), date);
    if judgement.validity == Validity::NotFound {
        state.rate_limits.count_mismatch(facility, now);
    }
    let person = member.as_ref().and_then(|m| m.details.person.clone());
    state
        .store
        .finish_check(
            audit,
            AuditAction::CheckNumber,
            person.as_ref(),
            &check_detail(&judgement, req.limit_consent),
        )
        .await?;
    result(state, &judgement, date, req.limit_consent.then_some(now)).await
}

/// A check of the person of a card check that `facility` made within
/// [`CHECK_REFERENCE_LIFETIME`], by its `check_reference`, on `date` (`servicedDate` in FHIR;
/// default today).
pub async fn reference_check(
    state: &AppState,
    facility: &FacilityCode,
    reference: &str,
    date: Option<&str>,
) -> Result<EligibilityResult, CheckError> {
    admit_check(state, facility).await?;
    let now = state.clock.now();
    let date = consultation_date(state, date, "servicedDate")?;
    let person = state
        .store
        .person_of_check(reference, facility.as_str(), now - CHECK_REFERENCE_LIFETIME)
        .await?
        .ok_or(CheckError::ReferenceNotFound)?;
    let mut audit = state
        .store
        .begin_check(&Actor::Facility(facility.clone()), now);
    let quals = state
        .store
        .qualifications_for_check(&mut audit, &person, None)
        .await?;
    judged(
        state,
        audit,
        &person,
        &quals,
        date,
        AuditAction::CheckReference,
        None,
    )
    .await
}

fn consultation_date(
    state: &AppState,
    text: Option<&str>,
    field: &str,
) -> Result<Date, CheckError> {
    match text {
        Some(t) => parse_date(t).map_err(|r| CheckError::field(field, r)),
        None => Ok(japan_date(state.clock.now())),
    }
}

/// Judges `quals`, a person's qualifications read for `audit`, on `date`, and writes the check
/// to the audit log before anything of it is answered.
async fn judged(
    state: &AppState,
    audit: CheckAudit,
    person: &PersonRef,
    quals: &[MemberRecord],
    date: Date,
    action: AuditAction,
    limit: Option<OffsetDateTime>,
) -> Result<EligibilityResult, CheckError> {
    let judgement = judge_person(quals, |m| &m.details, date);
    state
        .store
        .finish_check(
            audit,
            action,
            Some(person),
            &check_detail(&judgement, limit.is_some()),
        )
        .await?;
    result(state, &judgement, date, limit).await
}

/// The audit detail of a check: its validity code, and whether 限度額 information was shown.
fn check_detail(j: &Judgement<MemberRecord>, limit: bool) -> String {
    if limit {
        format!("validity={} limit=shown", j.validity.code())
    } else {
        format!("validity={}", j.validity.code())
    }
}

/// The answer for a judgement; `limit` is when the patient consented to 限度額 information.
async fn result(
    state: &AppState,
    j: &Judgement<MemberRecord>,
    date: Date,
    limit: Option<OffsetDateTime>,
) -> Result<EligibilityResult, CheckError> {
    let consent = limit.is_some();
    let mut qualifications = Vec::with_capacity(j.shown.len());
    for m in &j.shown {
        let name = insurer_name(state, m).await?;
        qualifications.push(qualification(m, j.validity, date, consent, name));
    }
    let new_qualification = match &j.newer {
        Some(m) => {
            let name = insurer_name(state, m).await?;
            Some(qualification(m, Validity::Valid, date, consent, name))
        }
        None => None,
    };
    Ok(EligibilityResult {
        validity_code: j.validity.code(),
        validity_label: j.validity.japanese().to_owned(),
        consultation_date: interface_date(date),
        qualifications,
        new_qualification,
        certificate_kind: None,
        consents: Vec::new(),
        limit_consent_at: limit.map(interface_time),
        check_reference: None,
    })
}

async fn insurer_name(state: &AppState, m: &MemberRecord) -> Result<String, CheckError> {
    Ok(state
        .insurer_names
        .name(&state.store, &m.key.insurer)
        .await?)
}

/// One qualification as a result shows it: the 限度額 certificate only when `limit` (consent)
/// and in force on `date`, the 高齢受給者証 when in force on `date`. What the insurer did not
/// record of the card reads as the terminal's defaults: class 01 (一般) and a card valid from
/// the qualification's start.
fn qualification(
    m: &MemberRecord,
    validity: Validity,
    date: Date,
    limit: bool,
    insurer_name: String,
) -> Qualification {
    let d = &m.details;
    let limit_certificate = d
        .limit
        .as_ref()
        .filter(|c| limit && c.covers(date))
        .map(|c| LimitCertificateInfo {
            class_code: c.class.code().to_owned(),
            bracket_code: c.bracket.code().to_owned(),
            bracket_label: c.bracket.label().to_owned(),
            issued: interface_date(c.issued),
            valid_from: interface_date(c.valid_from),
            valid_until: c.valid_until.map(interface_date),
            long_term_from: c.long_term_from.map(interface_date),
        });
    let card = &d.card;
    let elderly_certificate = card
        .elderly
        .as_ref()
        .filter(|e| e.valid_from <= date && e.valid_until.is_none_or(|u| date <= u))
        .map(|e| ElderlyCertificateInfo {
            issued: interface_date(e.issued),
            valid_from: interface_date(e.valid_from),
            valid_until: e.valid_until.map(interface_date),
            copay_ratio: format!("{:03}", e.copay_ratio.percent()),
        });
    Qualification {
        validity_code: validity.code(),
        insurer_number: m.key.insurer.to_string(),
        symbol: m.key.symbol.to_string(),
        number: m.key.number.to_string(),
        branch: m.key.branch.to_string(),
        relationship_code: d.relationship.code(),
        name: d.name.0.clone(),
        name_kana: d.name_kana.0.clone(),
        sex_code: d.sex.code(),
        birth_date: interface_date(d.birth_date.0),
        qualified_from: interface_date(d.qualified_from),
        qualified_until: d.qualified_until.map(interface_date),
        copay_ratio: format!("{:03}", d.copay_ratio.percent()),
        limit_certificate,
        insurer_name,
        card_class: card.class.unwrap_or(CardClass::General).code().to_owned(),
        card_issued: card.issued.map(interface_date),
        card_valid_from: interface_date(card.valid_from.unwrap_or(d.qualified_from)),
        card_valid_until: card.valid_until.map(interface_date),
        insured_name: card.insured_name.clone(),
        address: card.address.clone(),
        post_number: card.post_number.clone(),
        preschool: is_preschool(d.birth_date.0, date),
        loss_reason_code: d
            .qualified_until
            .and(d.loss_reason)
            .map(|r| r.code().to_owned()),
        elderly_certificate,
    }
}
