//! Eligibility confirmation (資格確認) for facilities, registration for insurance use (利用申込),
//! and the person's own access history.
//!
//! A card proves itself by signing a single-use challenge: the facility (or the portal) asks for
//! a challenge, the card signs [`onshi_pki::challenge_message`] over its nonce and audience, and
//! the request carries certificate, signature and challenge id. The challenge is sealed, not
//! stored ([`onshi_domain::challenge`]): the server opens it, holds it to its audience and
//! expiry, validates the certificate (path, validity, key usage, CRL) and checks the signature
//! before it reads anything; then one statement reads whether the challenge was used, the
//! certificate's holder from the directory, their consents and, for a check, their
//! qualifications; the challenge is consumed in the check's audit commit.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime};

use onshi_domain::eligibility::{Judgement, Validity, judge_card_number, judge_person};
use onshi_domain::{
    Challenge, ChallengePurpose, FacilityCode, FieldError, MemberInput, PersonRef, parse_date,
};
use onshi_pki::{CertError, VerifiedCert, challenge_message, verify_signature};
use onshi_store::{Actor, CardHolder, CheckAudit, MemberRecord};

use crate::AppState;
use crate::auth::hash_token;
use crate::problem::{ApiJson, Problem};

/// How long a challenge may be used.
pub const CHALLENGE_LIFETIME: Duration = Duration::seconds(120);
/// How long a consent given at a reader lasts (the interface's samples show 24 hours).
pub const CONSENT_LIFETIME: Duration = Duration::hours(24);
/// How long a card check can be referred to (`check_reference`), at the facility that made it.
pub const CHECK_REFERENCE_LIFETIME: Duration = Duration::hours(24);
/// How often a server forgets the challenges whose checks can no longer be referred to.
pub const FORGET_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
/// The audience of challenges for the insured person's portal.
pub const PORTAL: &str = "portal";

/// The facility a request is authenticated as (`Authorization: Bearer onshi_fac_…`).
#[derive(Debug, Clone)]
pub struct AuthenticatedFacility(pub FacilityCode);

impl FromRequestParts<AppState> for AuthenticatedFacility {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let hash = hash_token(crate::auth::bearer_token(parts)?);
        let now = state.clock.now();
        let facility = match state.facility_tokens.get(&hash, now) {
            Some(code) => code,
            None => match state.store.facility_by_token_hash(&hash).await? {
                Some(f) => {
                    state.facility_tokens.remember(hash, f.code.clone(), now);
                    f.code
                }
                None => return Err(Problem::unauthorized()),
            },
        };
        if let Some(crate::tls::ClientIdentity(cn)) =
            parts.extensions.get::<crate::tls::ClientIdentity>()
            && cn != facility.as_str()
        {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "client-certificate-mismatch",
                "Client certificate of another facility",
                "the connection's client certificate does not belong to the facility of this token",
            ));
        }
        Ok(Self(facility))
    }
}

/// Asks for a challenge.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    /// `check` (default) or `registration`.
    #[serde(default)]
    pub purpose: Option<String>,
}

/// A challenge for a card to sign.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChallengeView {
    /// Send back with the signature.
    pub challenge_id: String,
    /// Random bytes, hex.
    pub nonce: String,
    /// Who the challenge is for: the facility code, or `portal`.
    pub audience: String,
    /// What the card signs, hex: `onshi-challenge-v1:` ‖ nonce ‖ `:` ‖ audience.
    pub message: String,
    /// Until when it may be used (RFC 3339).
    pub expires_at: String,
}

/// Seals a new challenge: nothing is written until it is used.
fn issue_challenge(
    state: &AppState,
    audience: &str,
    purpose: ChallengePurpose,
) -> Result<ChallengeView, Problem> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut nonce = [0u8; 32];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| Problem::internal())?;
    let now = state.clock.now();
    let c = state
        .challenge_key
        .issue(nonce, audience, purpose, now, now + CHALLENGE_LIFETIME)
        .map_err(|_| Problem::internal())?;
    Ok(ChallengeView {
        message: hex::encode(challenge_message(&c.nonce, audience)),
        nonce: c.nonce_hex(),
        audience: c.audience,
        expires_at: c.expires_at.format(&Rfc3339).unwrap_or_default(),
        challenge_id: c.id,
    })
}

/// Get a single-use challenge for a card at this facility (valid 120 s).
#[utoipa::path(post, path = "/v1/challenges", tag = "eligibility",
    request_body(content = ChallengeRequest, description = "optional purpose"),
    responses((status = 201, body = ChallengeView), (status = 401, body = Problem)),
    security(("facility_token" = [])))]
pub async fn facility_challenge(
    State(state): State<AppState>,
    AuthenticatedFacility(facility): AuthenticatedFacility,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<ChallengeView>), Problem> {
    let request: ChallengeRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ChallengeRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            Problem::validation(vec![FieldError::new(
                "purpose",
                "the body must be {\"purpose\": \"check\" or \"registration\"}",
            )])
        })?
    };
    let purpose = match request.purpose.as_deref() {
        None | Some("check") => ChallengePurpose::Check,
        Some("registration") => ChallengePurpose::Registration,
        Some(_) => {
            return Err(Problem::validation(vec![FieldError::new(
                "purpose",
                "must be check or registration",
            )]));
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(issue_challenge(&state, facility.as_str(), purpose)?),
    ))
}

/// Get a single-use challenge for the insured person's portal (valid 120 s).
#[utoipa::path(post, path = "/v1/portal/challenges", tag = "portal",
    responses((status = 201, body = ChallengeView)))]
pub async fn portal_challenge(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<ChallengeView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(issue_challenge(&state, PORTAL, ChallengePurpose::Portal)?),
    ))
}

/// A card's answer to a challenge.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CardProof {
    /// From the challenge.
    pub challenge_id: String,
    /// The user-authentication certificate, DER, base64.
    pub certificate: String,
    /// The card's RSASSA-PKCS1-v1_5/SHA-256 signature over the challenge message, base64.
    pub signature: String,
}

fn cert_problem(e: &CertError) -> Problem {
    let (status, kind) = match e {
        CertError::Expired => (StatusCode::FORBIDDEN, "certificate-expired"),
        CertError::NotYetValid => (StatusCode::FORBIDDEN, "certificate-not-yet-valid"),
        CertError::Revoked => (StatusCode::FORBIDDEN, "certificate-revoked"),
        CertError::Untrusted => (StatusCode::FORBIDDEN, "certificate-untrusted"),
        CertError::BadCertificateSignature => (StatusCode::FORBIDDEN, "certificate-counterfeit"),
        CertError::WrongKeyUsage => (StatusCode::FORBIDDEN, "certificate-key-usage"),
        CertError::CrlStale => (StatusCode::SERVICE_UNAVAILABLE, "revocation-list-stale"),
        CertError::RevocationUnknown => {
            (StatusCode::SERVICE_UNAVAILABLE, "revocation-status-unknown")
        }
        CertError::BadSignature => (StatusCode::UNAUTHORIZED, "signature-invalid"),
        CertError::Malformed => (StatusCode::UNPROCESSABLE_ENTITY, "certificate-malformed"),
        CertError::Other(_) => (StatusCode::FORBIDDEN, "certificate-refused"),
    };
    Problem::new(status, kind, "Card refused", e.to_string())
}

/// A card that proved itself: its certificate, the challenge it signed, its holder and, for a
/// check, the holder's qualifications.
struct Proven {
    cert: VerifiedCert,
    challenge: Challenge,
    holder: CardHolder,
    qualifications: Vec<MemberRecord>,
}

/// Checks a card proof for `audience` and consumes the challenge (registrations, the portal).
async fn prove(state: &AppState, audience: &str, proof: &CardProof) -> Result<Proven, Problem> {
    let proven = verify_proof(state, audience, None, None, proof).await?;
    if !state
        .store
        .consume_challenge(&proven.challenge, state.clock.now(), &proven.holder.person)
        .await?
    {
        return Err(Problem::challenge_replayed());
    }
    Ok(proven)
}

/// Checks a card proof for `audience` without consuming the challenge: the caller must consume
/// it before it answers (an eligibility check does so in its audit commit). The challenge, the
/// certificate and the signature are checked first, without the store; then one read fetches
/// the challenge's use, the directory entry, the holder's consents in force at `facility` and,
/// given a check's audit, their qualifications.
async fn verify_proof(
    state: &AppState,
    audience: &str,
    facility: Option<&FacilityCode>,
    check: Option<&mut CheckAudit>,
    proof: &CardProof,
) -> Result<Proven, Problem> {
    let now = state.clock.now();
    let mut errors = Vec::new();
    let cert = STANDARD
        .decode(proof.certificate.trim())
        .map_err(|_| errors.push(FieldError::new("certificate", "must be base64")))
        .ok();
    let sig = STANDARD
        .decode(proof.signature.trim())
        .map_err(|_| errors.push(FieldError::new("signature", "must be base64")))
        .ok();
    let (Some(cert), Some(sig)) = (cert, sig) else {
        return Err(Problem::validation(errors));
    };
    let challenge = state.challenge_key.open(&proof.challenge_id).map_err(|_| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "challenge-unknown",
            "Unknown challenge",
            "no such challenge: this server did not issue that challenge_id, or it was altered; ask for a new challenge",
        )
    })?;
    if challenge.audience != audience {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "challenge-foreign",
            "Challenge of another facility",
            "this challenge was issued to another facility",
        ));
    }
    if now > challenge.expires_at {
        return Err(Problem::new(
            StatusCode::GONE,
            "challenge-expired",
            "Challenge expired",
            "the challenge has expired: ask for a new one",
        ));
    }
    let verifier = state.trust.verifier().ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-trust-anchors",
            "Card checks are not configured",
            "the server has no trust anchors for user certificates",
        )
    })?;
    let verified = verifier.verify(&cert, now).map_err(|e| cert_problem(&e))?;
    verify_signature(
        &verified,
        &challenge_message(&challenge.nonce, audience),
        &sig,
    )
    .map_err(|e| cert_problem(&e))?;
    let read = state
        .store
        .card_read(&challenge.id, &verified.fingerprint, facility, now, check)
        .await?;
    if read.used {
        return Err(Problem::challenge_replayed());
    }
    let holder = read.holder.ok_or_else(|| {
        Problem::new(
            StatusCode::FORBIDDEN,
            "certificate-unknown",
            "Unknown certificate",
            "the certificate is valid but not in the certificate directory",
        )
    })?;
    Ok(Proven {
        cert: verified,
        challenge,
        holder,
        qualifications: read.qualifications,
    })
}

/// Judges a person's qualifications on `date` (the card path, also reached by a card-check
/// reference), writing the check, with whatever else `audit` commits, to the audit log.
pub(crate) async fn person_result(
    state: &AppState,
    mut audit: CheckAudit,
    person: &PersonRef,
    date: Date,
    action: &str,
    limit: Option<OffsetDateTime>,
) -> Result<EligibilityResult, Problem> {
    let quals = state
        .store
        .qualifications_for_check(&mut audit, person, None)
        .await?;
    judged(state, audit, person, &quals, date, action, limit).await
}

/// Judges `quals`, a person's qualifications read for `audit`, on `date`, and writes the check
/// to the audit log before anything of it is answered.
async fn judged(
    state: &AppState,
    audit: CheckAudit,
    person: &PersonRef,
    quals: &[MemberRecord],
    date: Date,
    action: &str,
    limit: Option<OffsetDateTime>,
) -> Result<EligibilityResult, Problem> {
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
    Ok(result(&judgement, date, limit))
}

/// The audit detail of a check: its validity code, and whether 限度額 information was shown.
fn check_detail(j: &Judgement<MemberRecord>, limit: bool) -> String {
    if limit {
        format!("validity={} limit=shown", j.validity.code())
    } else {
        format!("validity={}", j.validity.code())
    }
}

/// One qualification in a result: the fields of the interface's ResultOfQualificationConfirmation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QualificationView {
    /// 資格有効性 of this qualification (1–5).
    pub validity_code: u8,
    /// 保険者番号
    pub insurer_number: String,
    /// 記号
    pub symbol: String,
    /// 番号
    pub number: String,
    /// 枝番
    pub branch: String,
    /// 本人・家族区分: 1 本人, 2 家族
    pub relationship_code: u8,
    /// 氏名
    pub name: String,
    /// カナ氏名
    pub name_kana: String,
    /// 性別: 1 男, 2 女, 3 未設定
    pub sex_code: u8,
    /// 生年月日, YYYYMMDD
    pub birth_date: String,
    /// 資格取得年月日, YYYYMMDD
    pub qualified_from: String,
    /// 資格喪失年月日, YYYYMMDD
    pub qualified_until: Option<String>,
    /// 一部負担金割合, three-digit percent ("030")
    pub copay_ratio: String,
    /// 限度額適用認定証 in force on the consultation date; only with the patient's consent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_certificate: Option<LimitCertificateView>,
}

/// 限度額適用認定証 information (LimitApplicationCertificateRelatedInfo).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LimitCertificateView {
    /// 限度額適用認定証区分 (OQSCD011): 01 限度額適用認定証, 02 限度額適用・標準負担額減額認定証,
    /// 03 標準負担額減額認定証
    pub class_code: String,
    /// 適用区分 (OQSCD012): A01–A06, B01–B10
    pub bracket_code: String,
    /// The bracket's name (ア, 一般Ⅱ, …)
    pub bracket_label: String,
    /// 交付年月日, YYYYMMDD
    pub issued: String,
    /// 有効開始年月日, YYYYMMDD
    pub valid_from: String,
    /// 有効終了年月日, YYYYMMDD
    pub valid_until: Option<String>,
    /// 長期入院該当年月日, YYYYMMDD
    pub long_term_from: Option<String>,
}

fn yyyymmdd(d: Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
}

/// One qualification as a result shows it; the 限度額 certificate only when `limit` (consent)
/// and in force on `date`.
fn view(m: &MemberRecord, validity: Validity, date: Date, limit: bool) -> QualificationView {
    let d = &m.details;
    let limit_certificate = d
        .limit
        .as_ref()
        .filter(|c| limit && c.covers(date))
        .map(|c| LimitCertificateView {
            class_code: c.class.code().to_owned(),
            bracket_code: c.bracket.code().to_owned(),
            bracket_label: c.bracket.label().to_owned(),
            issued: yyyymmdd(c.issued),
            valid_from: yyyymmdd(c.valid_from),
            valid_until: c.valid_until.map(yyyymmdd),
            long_term_from: c.long_term_from.map(yyyymmdd),
        });
    QualificationView {
        validity_code: validity.code(),
        insurer_number: m.key.insurer.to_string(),
        symbol: m.key.symbol.to_string(),
        number: m.key.number.to_string(),
        branch: m.key.branch.to_string(),
        relationship_code: d.relationship.code(),
        name: d.name.0.clone(),
        name_kana: d.name_kana.0.clone(),
        sex_code: d.sex.code(),
        birth_date: yyyymmdd(d.birth_date.0),
        qualified_from: yyyymmdd(d.qualified_from),
        qualified_until: d.qualified_until.map(yyyymmdd),
        copay_ratio: format!("{:03}", d.copay_ratio.percent()),
        limit_certificate,
    }
}

/// A consent in force at this facility.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsentView {
    /// `medication`, `checkup` or `clinical`.
    pub kind: String,
    /// When given, YYYYMMDDHHmmss (UTC).
    pub given_at: String,
    /// Until when, YYYYMMDDHHmmss (UTC).
    pub expires_at: String,
}

/// The answer to an eligibility check.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EligibilityResult {
    /// 資格有効性: 1 有効, 2 無効, 3 無効（新しい資格あり）, 4 該当資格なし, 5 複数該当.
    pub validity_code: u8,
    /// The code's label.
    pub validity_label: String,
    /// The consultation date the check was for, YYYYMMDD.
    pub consultation_date: String,
    /// The qualifications the answer is about.
    pub qualifications: Vec<QualificationView>,
    /// For code 3: the newer qualification that covers the date.
    pub new_qualification: Option<QualificationView>,
    /// Card checks: `card` or `smartphone`.
    pub certificate_kind: Option<String>,
    /// Card checks: the consents in force at this facility.
    pub consents: Vec<ConsentView>,
    /// When the patient consented to showing 限度額 information for this check, YYYYMMDDHHmmss
    /// (UTC); absent without consent (LimitApplicationCertificateRelatedConsTime).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_consent_at: Option<String>,
    /// Card checks: a reference to this check (valid for 24 hours at this facility), usable as a
    /// FHIR `Coverage.identifier` with system `urn:onshi:card-check`.
    pub check_reference: Option<String>,
}

fn stamp(t: time::OffsetDateTime) -> String {
    format!(
        "{}{:02}{:02}{:02}",
        yyyymmdd(t.date()),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The answer for a judgement; `limit` is when the patient consented to 限度額 information.
fn result(
    j: &Judgement<MemberRecord>,
    date: Date,
    limit: Option<OffsetDateTime>,
) -> EligibilityResult {
    let shown_code = j.validity;
    let consent = limit.is_some();
    EligibilityResult {
        validity_code: j.validity.code(),
        validity_label: j.validity.japanese().to_owned(),
        consultation_date: yyyymmdd(date),
        qualifications: j
            .shown
            .iter()
            .map(|m| view(m, shown_code, date, consent))
            .collect(),
        new_qualification: j
            .newer
            .as_ref()
            .map(|m| view(m, Validity::Valid, date, consent)),
        certificate_kind: None,
        consents: Vec::new(),
        limit_consent_at: limit.map(stamp),
        check_reference: None,
    }
}

/// A check by card.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CardCheckRequest {
    /// The card's proof.
    #[serde(flatten)]
    pub proof: CardProof,
    /// 診療日 (YYYY-MM-DD or YYYYMMDD); default today.
    pub consultation_date: Option<String>,
    /// What the patient agreed to share at the reader: any of `medication`, `checkup`, `clinical`,
    /// and `limit` (限度額適用認定証 information, shown in this answer).
    #[serde(default)]
    pub consent: Vec<String>,
}

fn consultation_date(state: &AppState, text: Option<&str>) -> Result<Date, Problem> {
    match text {
        Some(t) => parse_date(t)
            .map_err(|r| Problem::validation(vec![FieldError::new("consultation_date", r)])),
        None => Ok(state.clock.now().date()),
    }
}

/// Confirm eligibility with a My Number card or smartphone (signed challenge).
#[utoipa::path(post, path = "/v1/eligibility/card", tag = "eligibility",
    request_body = CardCheckRequest,
    responses(
        (status = 200, description = "the qualifications as of the consultation date", body = EligibilityResult),
        (status = 403, description = "certificate refused (expired, revoked, untrusted, counterfeit), challenge of another facility, or card not registered for insurance use", body = Problem),
        (status = 409, description = "challenge already used (replay)", body = Problem),
        (status = 410, description = "challenge expired", body = Problem),
        (status = 401, description = "signature does not match", body = Problem),
    ),
    security(("facility_token" = [])))]
pub async fn check_card(
    State(state): State<AppState>,
    AuthenticatedFacility(facility): AuthenticatedFacility,
    ApiJson(req): ApiJson<CardCheckRequest>,
) -> Result<Json<EligibilityResult>, Problem> {
    let date = consultation_date(&state, req.consultation_date.as_deref())?;
    let mut kinds = Vec::new();
    for k in &req.consent {
        match k.as_str() {
            "medication" | "checkup" | "clinical" | "limit" => kinds.push(k.as_str()),
            _ => {
                return Err(Problem::validation(vec![FieldError::new(
                    "consent",
                    "each must be medication, checkup, clinical or limit",
                )]));
            }
        }
    }
    let actor = Actor::Facility(facility.clone());
    let now = state.clock.now();
    let mut audit = state.store.begin_check(&actor, now);
    let Proven {
        cert,
        challenge,
        holder,
        qualifications,
    } = verify_proof(
        &state,
        facility.as_str(),
        Some(&facility),
        Some(&mut audit),
        &req.proof,
    )
    .await?;
    let person = &holder.person;
    if !holder.registered {
        if !state
            .store
            .consume_challenge(&challenge, now, person)
            .await?
        {
            return Err(Problem::challenge_replayed());
        }
        state
            .store
            .record_check(now, &actor, "check_card", Some(person), "not registered")
            .await?;
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "not-registered",
            "Not registered for insurance use",
            "this card is not registered for use as a health-insurance card (利用申込): register it at the portal or a card reader",
        ));
    }
    // The consents given now are written with the check's audit entries, in one commit that
    // also consumes the challenge; the answer shows them without reading them back.
    let until = now + CONSENT_LIFETIME;
    let consents = holder.consents_with(&kinds, now, until);
    let limit = consents
        .iter()
        .find(|c| c.kind == "limit")
        .map(|c| c.given_at);
    audit.answer_challenge(&challenge, person, &facility, &kinds, until);
    let mut out = judged(
        &state,
        audit,
        person,
        &qualifications,
        date,
        "check_card",
        limit,
    )
    .await?;
    out.check_reference = Some(challenge.id);
    out.certificate_kind = Some(cert.kind.as_str().to_owned());
    out.consents = consents
        .into_iter()
        .map(|c| ConsentView {
            kind: c.kind,
            given_at: stamp(c.given_at),
            expires_at: stamp(c.expires_at),
        })
        .collect();
    Ok(Json(out))
}

/// A check by insurance-card number.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberCheckRequest {
    /// 保険者番号
    pub insurer_number: String,
    /// 記号 (may be empty)
    #[serde(default)]
    pub symbol: String,
    /// 番号
    pub number: String,
    /// 枝番
    #[serde(default)]
    pub branch: String,
    /// 生年月日 (optional; a mismatch answers 該当資格なし)
    pub birth_date: Option<String>,
    /// 診療日; default today.
    pub consultation_date: Option<String>,
    /// The patient consented to 限度額適用認定証 information being shown
    /// (LimitApplicationCertificateRelatedConsFlg = 1).
    #[serde(default)]
    pub limit_consent: bool,
}

/// Confirm eligibility by insurance-card number (保険者番号・記号・番号・枝番).
#[utoipa::path(post, path = "/v1/eligibility/number", tag = "eligibility",
    request_body = NumberCheckRequest,
    responses(
        (status = 200, description = "the qualification and its validity on the consultation date", body = EligibilityResult),
        (status = 422, description = "invalid fields", body = Problem),
    ),
    security(("facility_token" = [])))]
pub async fn check_number(
    State(state): State<AppState>,
    AuthenticatedFacility(facility): AuthenticatedFacility,
    ApiJson(req): ApiJson<NumberCheckRequest>,
) -> Result<Json<EligibilityResult>, Problem> {
    Ok(Json(number_check(&state, facility, &req).await?))
}

/// A check by card number for `facility`: the single look-up, and each row of a bulk look-up.
pub(crate) async fn number_check(
    state: &AppState,
    facility: FacilityCode,
    req: &NumberCheckRequest,
) -> Result<EligibilityResult, Problem> {
    let date = consultation_date(state, req.consultation_date.as_deref())?;
    let birth = match req.birth_date.as_deref().filter(|b| !b.trim().is_empty()) {
        Some(b) => Some(
            parse_date(b)
                .map_err(|r| Problem::validation(vec![FieldError::new("birth_date", r)]))?,
        ),
        None => None,
    };
    let input = MemberInput {
        insurer_number: &req.insurer_number,
        symbol: &req.symbol,
        number: &req.number,
        branch: &req.branch,
        ..Default::default()
    };
    let key = crate::members::card_key(&input)?;
    let actor = Actor::Facility(facility);
    let now = state.clock.now();
    let mut audit = state.store.begin_check(&actor, now);
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
    let judgement = judge_card_number(member.as_ref(), &others, |m| &m.details, birth, date);
    let person = member.as_ref().and_then(|m| m.details.person.clone());
    state
        .store
        .finish_check(
            audit,
            "check_number",
            person.as_ref(),
            &check_detail(&judgement, req.limit_consent),
        )
        .await?;
    Ok(result(&judgement, date, req.limit_consent.then_some(now)))
}

/// A registration for insurance use (利用申込).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegistrationView {
    /// True when this request registered the card; false when it already was.
    pub registered_now: bool,
    /// `portal`, `facility` or `pharmacy`.
    pub channel: String,
}

async fn register(
    state: &AppState,
    audience: &str,
    channel: &str,
    facility: Option<&FacilityCode>,
    proof: &CardProof,
) -> Result<RegistrationView, Problem> {
    let Proven {
        cert,
        holder: CardHolder { person, .. },
        ..
    } = prove(state, audience, proof).await?;
    let now = state.clock.now();
    let registered_now = state
        .store
        .register_for_insurance(&person, channel, facility, &cert.fingerprint, now)
        .await?;
    let actor = match facility {
        Some(f) => Actor::Facility(f.clone()),
        None => Actor::Person(person.clone()),
    };
    state
        .store
        .record_check(now, &actor, "register", Some(&person), channel)
        .await?;
    Ok(RegistrationView {
        registered_now,
        channel: channel.to_owned(),
    })
}

/// Register a card for insurance use at a facility's card reader (pharmacies count as `pharmacy`).
#[utoipa::path(post, path = "/v1/registrations", tag = "eligibility",
    request_body = CardProof,
    responses((status = 200, body = RegistrationView), (status = 403, body = Problem)),
    security(("facility_token" = [])))]
pub async fn facility_registration(
    State(state): State<AppState>,
    AuthenticatedFacility(facility): AuthenticatedFacility,
    ApiJson(proof): ApiJson<CardProof>,
) -> Result<Json<RegistrationView>, Problem> {
    let channel = match facility.fee_schedule() {
        onshi_domain::ids::FeeSchedule::Pharmacy => "pharmacy",
        _ => "facility",
    };
    Ok(Json(
        register(&state, facility.as_str(), channel, Some(&facility), &proof).await?,
    ))
}

/// Register a card for insurance use from the person's portal (マイナポータル).
#[utoipa::path(post, path = "/v1/portal/registrations", tag = "portal",
    request_body = CardProof,
    responses((status = 200, body = RegistrationView), (status = 403, body = Problem)))]
pub async fn portal_registration(
    State(state): State<AppState>,
    ApiJson(proof): ApiJson<CardProof>,
) -> Result<Json<RegistrationView>, Problem> {
    Ok(Json(
        register(&state, PORTAL, "portal", None, &proof).await?,
    ))
}

/// One access to the person's data.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccessView {
    /// When (RFC 3339).
    pub at: String,
    /// `insurer`, `facility`, `operator` or `person`.
    pub actor_kind: String,
    /// The insurer number or facility code (the operator's name; "you" for the person).
    pub actor: String,
    /// What was done.
    pub action: String,
}

/// Who looked at my data: the person, proven by their card, reads their access history.
#[utoipa::path(post, path = "/v1/portal/access-log", tag = "portal",
    request_body = CardProof,
    responses((status = 200, body = [AccessView]), (status = 403, body = Problem)))]
pub async fn portal_access_log(
    State(state): State<AppState>,
    ApiJson(proof): ApiJson<CardProof>,
) -> Result<Json<Vec<AccessView>>, Problem> {
    let Proven {
        holder: CardHolder { person, .. },
        ..
    } = prove(&state, PORTAL, &proof).await?;
    let now = state.clock.now();
    let entries = state.store.audit_of_person(person.as_str()).await?;
    state
        .store
        .record_check(
            now,
            &Actor::Person(person.clone()),
            "read_access_log",
            Some(&person),
            "",
        )
        .await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| AccessView {
                at: e.at.format(&Rfc3339).unwrap_or_default(),
                actor: if e.actor_kind == "person" {
                    "you".into()
                } else {
                    e.actor_id
                },
                actor_kind: e.actor_kind,
                action: e.action,
            })
            .collect(),
    ))
}

/// Forgets, now and then every [`FORGET_EVERY`] until the server stops, the used challenges
/// whose checks are past [`CHECK_REFERENCE_LIFETIME`]. Several servers over one store may each
/// do it; the deletes do not conflict with checks, which only insert new challenges.
pub fn spawn_forgetting(state: AppState) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(FORGET_EVERY);
        loop {
            every.tick().await;
            let before = state.clock.now() - CHECK_REFERENCE_LIFETIME;
            match state.store.forget_used_challenges(before).await {
                Ok(n) => tracing::info!(
                    challenges = n,
                    "forgot used challenges past their reference lifetime"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "could not forget used challenges; trying again later")
                }
            }
        }
    });
}
