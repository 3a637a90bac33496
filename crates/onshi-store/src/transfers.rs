//! Insurer → insurer transfers of checkup results (保険者間の特定健診等データの引継ぎ): when a
//! member has moved, their new insurer receives the old insurer's results of the last five
//! fiscal years. The registry links the two memberships by the person (the My Number's
//! reference), never by name or card: only results already linked to the same person move.
//! Every transfer is audited (`transfer_checkups`: who asked, from which insurer, how many)
//! before anything is returned.

use time::{Date, OffsetDateTime};

use onshi_domain::{AuditAction, InsurerNumber, MemberKey, PersonRef};

use crate::audit::audit;
use crate::{Actor, Store, StoreError, StoredCheckup};

/// What a transfer hands the new insurer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckupTransfer {
    /// The person both memberships belong to.
    pub person: PersonRef,
    /// The new insurer's member.
    pub member_id: String,
    /// The old insurer's checkups of the person, latest version of each, newest first.
    pub checkups: Vec<StoredCheckup>,
}

/// Why a transfer was refused.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    /// The requesting insurer has no member with that card key whose qualification is in force.
    #[error("no member with this card key is qualified today")]
    NotAMember,
    /// The member was recorded without a My Number: the person cannot be known.
    #[error("the member was recorded without a My Number, so their earlier insurers are unknown")]
    NoPerson,
    /// An insurer cannot transfer to itself.
    #[error("the former insurer is the requesting insurer")]
    SameInsurer,
    /// The old insurer holds no results of the person in the period.
    #[error("insurer {0} holds no checkup results of this member since {1}")]
    NothingToTransfer(InsurerNumber, Date),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// The checkups examined since `since` that `from` holds of the person behind `to`'s member
    /// `member` (qualified on `today`), for `to`; audited before they are returned.
    pub async fn transfer_checkups(
        &self,
        to: &InsurerNumber,
        member: &MemberKey,
        from: &InsurerNumber,
        since: Date,
        today: Date,
        at: OffsetDateTime,
    ) -> Result<CheckupTransfer, TransferError> {
        if from == to {
            return Err(TransferError::SameInsurer);
        }
        if &member.insurer != to {
            return Err(TransferError::NotAMember);
        }
        let record = self
            .fetch_member_by_key(member)
            .await?
            .filter(|r| r.details.covers(today))
            .ok_or(TransferError::NotAMember)?;
        let person = record
            .details
            .person
            .clone()
            .ok_or(TransferError::NoPerson)?;
        let checkups = self
            .read_checkups_of_person(&person, since, Some(from.as_str()))
            .await?;
        if checkups.is_empty() {
            return Err(TransferError::NothingToTransfer(from.clone(), since));
        }
        let detail = format!(
            "{} checkup(s) since {since} from insurer {} to insurer {}",
            checkups.len(),
            from.as_str(),
            to.as_str()
        );
        self.audit_transfer(to, &record.id, &person, detail, at)
            .await?;
        Ok(CheckupTransfer {
            person,
            member_id: record.id,
            checkups,
        })
    }

    async fn audit_transfer(
        &self,
        to: &InsurerNumber,
        member_id: &str,
        person: &PersonRef,
        detail: String,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let actor = Actor::Insurer(to.clone());
        crate::on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            audit!(
                &mut *tx,
                at,
                &actor,
                AuditAction::TransferCheckups,
                &[member_id],
                Some(person.as_str()),
                Some(detail)
            );
            tx.commit().await?;
        });
        Ok(())
    }
}
