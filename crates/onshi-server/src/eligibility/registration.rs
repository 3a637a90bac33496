//! Registration of a card for insurance use (利用申込): at the portal, or at a facility's reader
//! (a pharmacy's counts as `pharmacy`).

use onshi_api::{CardProof, Registration};
use onshi_domain::ids::FeeSchedule;
use onshi_domain::{AuditAction, ChallengePurpose, FacilityCode, RegistrationChannel};
use onshi_store::{Actor, CardHolder};

use super::proof::{Proven, prove};
use super::{CheckError, PORTAL};
use crate::AppState;

/// Registers the card of `proof` at `facility`'s reader.
pub async fn at_facility(
    state: &AppState,
    facility: &FacilityCode,
    proof: &CardProof,
) -> Result<Registration, CheckError> {
    let channel = match facility.fee_schedule() {
        FeeSchedule::Pharmacy => RegistrationChannel::Pharmacy,
        _ => RegistrationChannel::Facility,
    };
    register(state, facility.as_str(), channel, Some(facility), proof).await
}

/// Registers the card of `proof` from the person's portal (マイナポータル).
pub async fn at_portal(state: &AppState, proof: &CardProof) -> Result<Registration, CheckError> {
    register(state, PORTAL, RegistrationChannel::Portal, None, proof).await
}

async fn register(
    state: &AppState,
    audience: &str,
    channel: RegistrationChannel,
    facility: Option<&FacilityCode>,
    proof: &CardProof,
) -> Result<Registration, CheckError> {
    let Proven {
        cert,
        holder: CardHolder { person, .. },
        ..
    } = prove(
        state,
        audience,
        if facility.is_some() {
            ChallengePurpose::Registration
        } else {
            ChallengePurpose::Portal
        },
        proof,
    )
    .await?;
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
        .record_check(
            now,
            &actor,
            AuditAction::Register,
            Some(&person),
            channel.as_str(),
        )
        .await?;
    Ok(Registration {
        registered_now,
        channel: channel.as_str().to_owned(),
    })
}
