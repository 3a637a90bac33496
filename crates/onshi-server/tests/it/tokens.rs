//! Rotated and revoked API tokens, as a server sees them: a revoked facility token is refused
//! as soon as the server looks at the token generation (every second), although facility tokens
//! are otherwise remembered for 30 s; a rotated-out token works through its grace period only.

use crate::world::*;
use onshi_server::background::watch_tokens;
use onshi_store::{Actor, TokenOwner};

#[tokio::test]
async fn revoked_tokens_are_refused_and_rotated_ones_end_with_their_grace() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        let operator = Actor::Operator("ops".into());
        let clinic = FacilityCode::parse("1311111111").unwrap();
        assert!(
            !watch_tokens(&w.state).await.unwrap(),
            "the first look only notes"
        );
        let status = |token: String| {
            let w = &w;
            async move {
                w.call(
                    Method::GET,
                    "/v1/bulk-checks/none",
                    Some(&token),
                    Value::Null,
                )
                .await
                .0
            }
        };
        // 404 (no such bulk look-up) means the token was accepted.
        assert_eq!(status(w.f1.clone()).await, StatusCode::NOT_FOUND);

        // Rotation with a grace period: both work; after it, only the new one.
        let (new, hash) =
            onshi_store::token::mint(onshi_store::token::TokenKind::Facility).unwrap();
        let now = *w.clock.lock().unwrap();
        w.store
            .rotate_token(
                TokenOwner::Facility(&clinic),
                &hash,
                Duration::minutes(10),
                now,
                &operator,
            )
            .await
            .unwrap();
        assert!(watch_tokens(&w.state).await.unwrap());
        assert_eq!(status(w.f1.clone()).await, StatusCode::NOT_FOUND);
        assert_eq!(status(new.clone()).await, StatusCode::NOT_FOUND);
        *w.clock.lock().unwrap() += Duration::minutes(10);
        assert_eq!(status(w.f1.clone()).await, StatusCode::UNAUTHORIZED);
        assert_eq!(status(new.clone()).await, StatusCode::NOT_FOUND);

        // Revocation: remembered, the token would work up to 30 s more; the generation ends
        // that at the server's next look.
        let now = *w.clock.lock().unwrap();
        w.store
            .revoke_tokens(TokenOwner::Facility(&clinic), now, &operator)
            .await
            .unwrap();
        assert_eq!(
            status(new.clone()).await,
            StatusCode::NOT_FOUND,
            "remembered until the next look"
        );
        assert!(watch_tokens(&w.state).await.unwrap());
        assert_eq!(status(new.clone()).await, StatusCode::UNAUTHORIZED);
        // The pharmacy's token is untouched.
        assert_eq!(status(w.f2.clone()).await, StatusCode::NOT_FOUND);

        // Insurer tokens are read on every request: revoked, refused at once.
        let (s, _) = w
            .call(Method::GET, "/v1/members", Some(&w.insurer), Value::Null)
            .await;
        assert_eq!(s, StatusCode::OK);
        w.store
            .revoke_tokens(TokenOwner::Insurer(&kyokai()), now, &operator)
            .await
            .unwrap();
        let (s, _) = w
            .call(Method::GET, "/v1/members", Some(&w.insurer), Value::Null)
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        db.cleanup().await;
    }
}

fn kyokai() -> InsurerNumber {
    InsurerNumber::parse("01130012").unwrap()
}
