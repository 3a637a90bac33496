//! The HTTP handlers, one module per part of the API. Each reads its request (path, query,
//! body, the authenticated caller), calls the workflow or the store, and answers; no handler
//! holds workflow logic, and every error leaves as problem details (FHIR: OperationOutcome).
//!
//! - [`members`]: the insurer API.
//! - [`eligibility`]: challenges, card and number checks, registration, the person's portal.
//! - [`bulk`]: bulk look-ups.
//! - [`checkups`]: checkup archives uploaded by insurers, employers and institutions.
//! - [`organisations`]: employers, their consignments of institutions, insurers' requests.
//! - [`programme`]: an insurer's 特定健診・特定保健指導 counts, rates and lists, guidance events.
//! - [`fhir`]: FHIR R4 CoverageEligibilityRequest.
//! - [`audit`]: the audit log's signed checkpoint and inclusion proofs, public.
//! - [`pages`]: the pages for people (HTML), their login codes and sessions.
//! - [`console`]: staff sign-in (password and TOTP) and the insurer's console (HTML).
//! - [`operator`]: the public adoption dashboard, weekly editions and subsidy calculator.

pub mod audit;
pub mod bulk;
pub mod checkups;
pub mod console;
pub mod eligibility;
pub mod fhir;
pub mod members;
pub mod operator;
pub mod organisations;
pub mod pages;
pub mod programme;

/// A paged listing's query: an error for each parameter outside `allowed`, and the page size
/// `limit` asks for (1–1,000; 100 without; an error otherwise).
pub(crate) fn page_query(
    query: &std::collections::HashMap<String, String>,
    allowed: &[&str],
) -> (Vec<onshi_domain::FieldError>, u32) {
    let mut errors: Vec<onshi_domain::FieldError> = query
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| onshi_domain::FieldError::new(k.clone(), "unknown query parameter"))
        .collect();
    let limit = match query.get("limit").map(|s| s.parse::<u32>()) {
        None => 100,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => {
            errors.push(onshi_domain::FieldError::new(
                "limit",
                "must be a whole number from 1 to 1000",
            ));
            100
        }
    };
    (errors, limit)
}
