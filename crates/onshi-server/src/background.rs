//! The server's background work, in one place: [`start`] resumes unfinished bulk look-ups,
//! judges stored checkups the current rules have not judged, starts forgetting used challenges
//! and watching for rotated or revoked tokens; [`spawn_bulk`] answers a bulk look-up's rows. Everything
//! here is safe with several servers over one store.

use onshi_api::BulkItem;
use onshi_domain::FacilityCode;

use crate::AppState;
use crate::eligibility::CHECK_REFERENCE_LIFETIME;
use crate::eligibility::bulk::{StoredOutcome, unreadable_row};
use crate::eligibility::check::number_lookup;
use crate::problem::Problem;

/// How often a server forgets the challenges whose checks can no longer be referred to.
pub const FORGET_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
/// Rows of a bulk look-up answered per transaction.
const BULK_BATCH: i64 = 200;

/// Starts the background work of a server about to serve `state`.
pub async fn start(state: &AppState) {
    match state.store.unfinished_bulk_jobs().await {
        Ok(jobs) => {
            for job in jobs {
                if let Ok(facility) = FacilityCode::parse(&job.facility) {
                    spawn_bulk(state.clone(), job.reception_number, facility);
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "could not resume bulk look-ups"),
    }
    spawn_forgetting(state.clone());
    spawn_token_watch(state.clone());
    spawn_judging(state.clone());
    spawn_weekly(state.clone());
}

/// How often a server looks whether the week's edition is due.
pub const WEEKLY_LOOK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Publishes the public hospitals' edition on the configured weekday (Japan), once: every
/// [`WEEKLY_LOOK_EVERY`] the server looks whether today is the day and today's edition is
/// missing. Several servers may race; the store keeps the first edition of a day.
fn spawn_weekly(state: AppState) {
    let Some(weekday) = state.weekly_on else {
        return;
    };
    tokio::spawn(async move {
        let mut every = tokio::time::interval(WEEKLY_LOOK_EVERY);
        loop {
            every.tick().await;
            if let Err(e) = publish_if_due(&state, weekday).await {
                tracing::warn!(error = %e, "could not publish the weekly edition; trying again");
            }
        }
    });
}

/// One look: publishes today's edition if it is `weekday` and there is none. Returns the
/// edition published, if one was.
pub async fn publish_if_due(
    state: &AppState,
    weekday: time::Weekday,
) -> Result<Option<String>, onshi_store::StoreError> {
    let now = state.clock.now();
    if !crate::adoption::due(&state.store, now, weekday).await? {
        return Ok(None);
    }
    let actor = onshi_store::Actor::Operator("scheduler".into());
    let (edition, new) = crate::adoption::publish_weekly(&state.store, now, &actor).await?;
    if new {
        tracing::info!(edition = %edition.edition, hash = %edition.content_hash, "weekly edition published");
    }
    Ok(new.then_some(edition.edition))
}

/// Judges the stored checkups that the current rules have not judged (see
/// [`crate::checkups::judge_stale_checkups`]); new imports are judged as they are stored.
fn spawn_judging(state: AppState) {
    tokio::spawn(async move {
        if let Err(e) = crate::checkups::judge_stale_checkups(&state.store).await {
            tracing::error!(error = %e, "could not judge stored checkups; it resumes at the next start");
        }
    });
}

/// How often a server looks whether tokens were rotated or revoked.
pub const TOKEN_WATCH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Forgets the facility tokens this server remembers whenever the store's token generation
/// changes (a rotation or revocation by the CLI or another server): see [`watch_tokens`].
fn spawn_token_watch(state: AppState) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(TOKEN_WATCH_EVERY);
        loop {
            every.tick().await;
            if let Err(e) = watch_tokens(&state).await {
                tracing::warn!(error = %e, "could not read the token generation; trying again");
            }
        }
    });
}

/// One look at the token generation: forgets remembered facility tokens if it changed since the
/// last look. Returns whether it forgot.
pub async fn watch_tokens(state: &AppState) -> Result<bool, onshi_store::StoreError> {
    let generation = state.store.token_generation().await?;
    let forgot = state.facility_tokens.observe_generation(generation);
    if forgot {
        tracing::info!("API tokens were rotated or revoked: remembered facility tokens forgotten");
    }
    Ok(forgot)
}

/// Forgets, now and then every [`FORGET_EVERY`] until the server stops, the used challenges
/// whose checks are past [`CHECK_REFERENCE_LIFETIME`]. Several servers over one store may each
/// do it; the deletes do not conflict with checks, which only insert new challenges.
fn spawn_forgetting(state: AppState) {
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

/// Answers bulk look-up `number` in the background; on a failure that retrying may cure (the
/// store failed or was busy) it stays unfinished and is resumed at the next start.
pub fn spawn_bulk(state: AppState, number: String, facility: FacilityCode) {
    tokio::spawn(async move {
        if let Err(p) = process_bulk(&state, &number, &facility).await {
            tracing::error!(detail = %p.document.detail, "bulk look-up stopped; it resumes at the next start");
        }
    });
}

async fn process_bulk(
    state: &AppState,
    number: &str,
    facility: &FacilityCode,
) -> Result<(), Problem> {
    let Some(job) = state.store.bulk_job(number, facility).await? else {
        return Ok(());
    };
    let date = job.consultation_date.to_string();
    loop {
        let items = state.store.pending_bulk_items(number, BULK_BATCH).await?;
        if items.is_empty() {
            return Ok(());
        }
        let mut results = Vec::with_capacity(items.len());
        for (seq, request) in items {
            let outcome = match serde_json::from_str::<BulkItem>(&request) {
                Ok(item) => {
                    let req = item.into_check(Some(date.clone()));
                    match number_lookup(state, facility, &req)
                        .await
                        .map_err(Problem::from)
                    {
                        Ok(r) => StoredOutcome {
                            result: Some(r),
                            error: None,
                        },
                        Err(p) if p.status().is_server_error() => return Err(p),
                        Err(p) => StoredOutcome {
                            result: None,
                            error: Some(p.document),
                        },
                    }
                }
                Err(_) => StoredOutcome {
                    result: None,
                    error: Some(unreadable_row()),
                },
            };
            let text = serde_json::to_string(&outcome).map_err(|_| Problem::internal())?;
            results.push((seq, text));
        }
        state
            .store
            .record_bulk_results(number, &results, state.clock.now())
            .await?;
    }
}
