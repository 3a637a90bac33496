//! The person's own portal: who looked at my data and my checkup results, the person proven
//! by their card.

use onshi_api::{AccessEntry, CardProof};
use onshi_domain::japan::rfc3339_japan;
use onshi_domain::{AuditAction, ChallengePurpose};
use onshi_store::{Actor, CardHolder};

use super::proof::{Proven, prove};
use super::{CheckError, PORTAL};
use crate::AppState;

/// The access history of the person whose card made `proof`; reading it is itself recorded.
pub async fn access_log(
    state: &AppState,
    proof: &CardProof,
) -> Result<Vec<AccessEntry>, CheckError> {
    let Proven {
        holder: CardHolder { person, .. },
        ..
    } = prove(state, PORTAL, ChallengePurpose::Portal, proof).await?;
    let now = state.clock.now();
    let entries = state.store.audit_of_person(person.as_str()).await?;
    state
        .store
        .record_check(
            now,
            &Actor::Person(person.clone()),
            AuditAction::ReadAccessLog,
            Some(&person),
            "",
        )
        .await?;
    Ok(entries
        .into_iter()
        .map(|e| AccessEntry {
            seq: e.seq,
            at: rfc3339_japan(e.at),
            actor: if e.actor_kind == "person" {
                "you".into()
            } else {
                e.actor_id
            },
            actor_kind: e.actor_kind,
            action: e.action,
        })
        .collect())
}

/// Every checkup result of the person whose card made `proof` (at every insurer, newest first),
/// each item against its judgement values; the read is audited.
pub async fn checkups(
    state: &AppState,
    proof: &CardProof,
) -> Result<onshi_api::CheckupResults, CheckError> {
    let Proven {
        holder: CardHolder { person, .. },
        ..
    } = prove(state, PORTAL, ChallengePurpose::Portal, proof).await?;
    let stored = state
        .store
        .checkups_of_person(
            &Actor::Person(person.clone()),
            &person,
            // Before 特定健診 began (FY2008); a date PostgreSQL can hold, unlike `Date::MIN`.
            time::macros::date!(2000 - 01 - 01),
            state.clock.now(),
        )
        .await?;
    Ok(crate::checkups::results(&stored))
}

/// The person whose card made `proof` (a portal challenge), for a login code of their pages.
pub async fn person(
    state: &AppState,
    proof: &CardProof,
) -> Result<onshi_domain::PersonRef, CheckError> {
    let Proven {
        holder: CardHolder { person, .. },
        ..
    } = prove(state, PORTAL, ChallengePurpose::Portal, proof).await?;
    Ok(person)
}
