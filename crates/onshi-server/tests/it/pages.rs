//! The person's pages: a card proof buys a one-time code, the code opens a server-side session,
//! the page shows each result against its judgement values, and the session ends on logout,
//! when idle, or never starts from a used or late code. Every read is audited.

use crate::world::*;

/// A page request with `cookie` (beside another site's cookie, which must not confuse the
/// server) and a form `body` for a POST: status, headers, text.
async fn page(
    w: &World,
    method: Method,
    uri: &str,
    cookie: Option<&str>,
    body: &str,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let cookies: Vec<String> = cookie
        .map(|c| vec!["onshi_other=1".to_owned(), c.to_owned()])
        .unwrap_or_default();
    w.page(method, uri, &cookies, body).await
}

/// A login code for the person of `card`: the path to open.
async fn code(w: &World, card: &str) -> String {
    let proof = w.proof(None, card).await;
    let (s, r) = w
        .call(Method::POST, "/v1/portal/login-codes", None, proof)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert!(r["expires_at"].as_str().unwrap().ends_with("+09:00"));
    r["path"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_person_reads_their_results_in_a_session_their_card_opened() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        let (s, r) = w
            .upload(
                "/v1/checkup-archives/5521111111_01130012_202405271_1.zip",
                Some(w.insurer.as_str()),
                crate::checkups::archive(&[crate::checkups::document("1")]),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{r}");

        // Without a session: the page says how to sign in, and shows nothing else.
        let (s, _, text) = page(&w, Method::GET, "/portal/checkups", None, "").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(text.contains("ログインしてください") && text.contains("--portal-login"));
        assert!(!text.contains("収縮期血圧"));

        // The code opens a session: an HttpOnly, SameSite=Strict cookie, and a redirect that
        // drops the code from the address.
        let path = code(&w, "valid").await;
        let (s, h, _) = page(&w, Method::GET, &path, None, "").await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert_eq!(h[header::LOCATION], "/portal/checkups");
        let set = h[header::SET_COOKIE].to_str().unwrap().to_owned();
        for part in [
            "onshi_portal=onshi_ses_",
            "HttpOnly",
            "SameSite=Strict",
            "Path=/portal",
        ] {
            assert!(set.contains(part), "{set}");
        }
        assert!(!set.contains("Secure"), "not over TLS here");
        let cookie = set.split(';').next().unwrap().to_owned();
        // A code works once.
        let (s, _, text) = page(&w, Method::GET, &path, None, "").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(text.contains("このログインコードは使えません"));

        let reads_before = w
            .store
            .audit_of_action(onshi_domain::AuditAction::ReadCheckups)
            .await
            .unwrap()
            .len();
        let (s, h, text) = page(&w, Method::GET, "/portal/checkups", Some(&cookie), "").await;
        assert_eq!(s, StatusCode::OK, "{text}");
        assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert!(
            h[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("default-src 'none'")
        );
        assert!(text.contains("2024年5月20日の特定健診"), "{text}");
        assert!(text.contains("<th scope=\"row\">収縮期血圧(1回目)</th>"));
        assert!(
            [
                "○ 基準範囲内",
                "▲ 保健指導判定値に該当",
                "● 受診勧奨判定値に該当"
            ]
            .iter()
            .any(|j| text.contains(j)),
            "judgements in words: {text}"
        );
        assert!(!text.contains("<script"), "no script at all");
        let reads = w
            .store
            .audit_of_action(onshi_domain::AuditAction::ReadCheckups)
            .await
            .unwrap();
        assert_eq!(reads.len(), reads_before + 1);
        assert_eq!(reads.last().unwrap().actor_kind, "person");

        // Logout needs the page's CSRF token; then the cookie opens nothing.
        let (s, _, _) = page(
            &w,
            Method::POST,
            "/portal/logout",
            Some(&cookie),
            "csrf=forged",
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let csrf = form_token(&text);
        let (s, h, _) = page(
            &w,
            Method::POST,
            "/portal/logout",
            Some(&cookie),
            &format!("csrf={csrf}"),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            h[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
        let (s, _, _) = page(&w, Method::GET, "/portal/checkups", Some(&cookie), "").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "ended at once");

        // Idle for 16 minutes: over. A code used after two minutes: refused.
        let (_, h, _) = page(&w, Method::GET, &code(&w, "valid").await, None, "").await;
        let cookie = h[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        *w.clock.lock().unwrap() += Duration::minutes(14);
        let (s, _, _) = page(&w, Method::GET, "/portal/checkups", Some(&cookie), "").await;
        assert_eq!(s, StatusCode::OK, "14 minutes idle is within");
        *w.clock.lock().unwrap() += Duration::minutes(16);
        let (s, _, _) = page(&w, Method::GET, "/portal/checkups", Some(&cookie), "").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "16 minutes idle is over");
        let late = code(&w, "valid").await;
        *w.clock.lock().unwrap() += Duration::minutes(3);
        let (s, _, _) = page(&w, Method::GET, &late, None, "").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);

        // The stylesheet is cached; pages are not.
        let (s, h, css) = page(&w, Method::GET, "/static/style.css", None, "").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            h[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("max-age")
        );
        assert!(css.contains("@media print"));
        assert!(w.store.verify_audit().await.unwrap().is_ok());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_person_sees_qualifications_consents_and_accesses_and_withdraws_a_consent() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        // The clinic checks P's card; P consents to medication information there.
        let f1 = Some(w.f1.as_str());
        let mut body = w.proof(f1, "valid").await;
        body["consultation_date"] = json!("2026-11-24");
        body["consent"] = json!(["medication"]);
        let (s, r) = w.call(Method::POST, "/v1/eligibility/card", f1, body).await;
        assert_eq!(s, StatusCode::OK, "{r}");

        let (_, h, _) = page(&w, Method::GET, &code(&w, "valid").await, None, "").await;
        let cookie = h[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let (s, _, text) = page(&w, Method::GET, "/portal", Some(&cookie), "").await;
        assert_eq!(s, StatusCode::OK, "{text}");
        assert!(text.contains("<td>01130012</td><td>10 1-00</td>"), "{text}");
        assert!(
            text.contains("<td>1311111111</td><td>薬剤情報</td>"),
            "{text}"
        );
        assert!(
            text.contains("マイナンバーカードで資格を確認"),
            "the clinic's check is in the history"
        );
        assert!(
            text.contains("マイナポータルで登録しました"),
            "the registration: {text}"
        );
        let csrf = form_token(&text);

        // Without the page's token: refused. With it: withdrawn, audited, gone from the page.
        let form = "facility=1311111111&kind=medication";
        let (s, _, _) = page(
            &w,
            Method::POST,
            "/portal/consents/withdraw",
            Some(&cookie),
            form,
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _, text) = page(
            &w,
            Method::POST,
            "/portal/consents/withdraw",
            Some(&cookie),
            &format!("{form}&csrf={csrf}"),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{text}");
        assert!(text.contains("薬剤情報の同意を取り消しました"), "{text}");
        assert!(text.contains("有効な同意はありません"), "{text}");
        let person = {
            let key = MyNumberKey::from_bytes(&[4; 32]).unwrap();
            key.person_ref(&MyNumber::parse(&my_number(1)).unwrap())
        };
        let at = *w.clock.lock().unwrap();
        assert!(
            w.store
                .consents_of_person(&person, at)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            w.store
                .audit_of_action(onshi_domain::AuditAction::WithdrawConsent)
                .await
                .unwrap()
                .len(),
            1
        );
        // Withdrawing again finds nothing to withdraw.
        let (_, _, text) = page(
            &w,
            Method::POST,
            "/portal/consents/withdraw",
            Some(&cookie),
            &format!("{form}&csrf={csrf}"),
        )
        .await;
        assert!(text.contains("取り消す同意は見つかりませんでした"));
        assert!(w.store.verify_audit().await.unwrap().is_ok());
        db.cleanup().await;
    }
}
