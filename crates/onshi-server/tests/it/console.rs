//! Staff sign-in with password and TOTP, and the insurer's console: each factor checked, a
//! code good once, failures locking, a form without its token refused, another organisation's
//! data not shown, logout ending the session at once; every sign-in and read audited.

use crate::world::*;
use onshi_domain::staff::{SecretSeal, hash_password, totp_code};

fn set_cookies(h: &axum::http::HeaderMap) -> Vec<String> {
    h.get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect()
}

pub(crate) const SECRET: &[u8] = b"console-test-secret!";

/// Adds account `login` of `kind`/`id` with password "pw-of-{login}" and [`SECRET`].
pub(crate) async fn account(w: &World, login: &str, kind: &str, id: &str) {
    let key = MyNumberKey::from_bytes(&[4; 32]).unwrap();
    let sealed = SecretSeal::derive(&key)
        .unwrap()
        .seal(SECRET, [9; 12])
        .unwrap();
    let hash = hash_password(&format!("pw-of-{login}"), &[1; 16]).unwrap();
    let now = *w.clock.lock().unwrap();
    w.store
        .create_account(
            &onshi_store::Actor::Operator("admin".into()),
            login,
            kind,
            id,
            &hash,
            &sealed,
            now,
        )
        .await
        .unwrap();
}

/// Signs in: the form's token and cookie, then the post. Status, headers, text.
async fn sign_in(
    w: &World,
    login: &str,
    password: &str,
    code: &str,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let (s, h, form) = w.page(Method::GET, "/staff/login", &[], "").await;
    assert_eq!(s, StatusCode::OK);
    let csrf = form_token(&form);
    let body = format!("csrf={csrf}&login={login}&password={password}&code={code}");
    w.page(Method::POST, "/staff/login", &set_cookies(&h), &body)
        .await
}

/// Adds account `login` of `kind`/`id` ([`account`]) and signs it in: its session cookie.
pub(crate) async fn signed_in_staff(w: &World, login: &str, kind: &str, id: &str) -> Vec<String> {
    account(w, login, kind, id).await;
    let (s, h, text) = sign_in(w, login, &format!("pw-of-{login}"), &now_code(w)).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{text}");
    set_cookies(&h)
        .into_iter()
        .filter(|c| c.starts_with("onshi_staff="))
        .collect()
}

fn now_code(w: &World) -> String {
    totp_code(SECRET, *w.clock.lock().unwrap())
}

#[tokio::test]
async fn staff_sign_in_with_two_factors_and_see_only_their_insurers_members() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        account(&w, "tanaka", "insurer", "01130012").await;
        account(&w, "suzuki", "facility", "1311111111").await;

        // A wrong code, a wrong password: the same answer, naming neither.
        let (s, _, text) = sign_in(&w, "tanaka", "pw-of-tanaka", "000000").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(text.contains("いずれかが正しくないか"));
        let (s, _, _) = sign_in(&w, "tanaka", "wrong", &now_code(&w)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        // A form without its token is refused before anything is checked.
        let (s, _, _) = w
            .page(
                Method::POST,
                "/staff/login",
                &[],
                &format!("login=tanaka&password=pw-of-tanaka&code={}", now_code(&w)),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // Both factors: a session, and the console.
        let code = now_code(&w);
        let (s, h, _) = sign_in(&w, "tanaka", "pw-of-tanaka", &code).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let staff: Vec<String> = set_cookies(&h)
            .into_iter()
            .filter(|c| c.starts_with("onshi_staff="))
            .collect();
        assert_eq!(staff.len(), 1);
        let set = h
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        // The same code again is a replay, refused.
        let (s, _, _) = sign_in(&w, "tanaka", "pw-of-tanaka", &code).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        let reads_before = w
            .store
            .audit_of_action(onshi_domain::AuditAction::History)
            .await
            .unwrap()
            .len();
        let (s, _, text) = w
            .page(
                Method::GET,
                "/console/members?symbol=10&number=1&branch=00",
                &staff,
                "",
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{text}");
        assert!(
            text.contains("試験 花子（シケン ハナコ）") && text.contains("資格の履歴"),
            "{text}"
        );
        let history = w
            .store
            .audit_of_action(onshi_domain::AuditAction::History)
            .await
            .unwrap();
        assert_eq!(history.len(), reads_before + 1);
        assert_eq!(history.last().unwrap().actor_kind, "staff");
        // The society's member 5 is not 協会けんぽ's: not found, like through the API.
        let (s, _, text) = w
            .page(
                Method::GET,
                "/console/members?symbol=10&number=5&branch=00",
                &staff,
                "",
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            text.contains("この記号・番号の加入者はいません") && !text.contains("資格の履歴"),
            "{text}"
        );

        // By kana (half-width, as typed at a desk) and birth date: 協会けんぽ's members only,
        // each a link to its history; another insurer's member by id is not found.
        let (s, _, text) = w.page(Method::GET,
            "/console/members?kana=%EF%BD%BC%EF%BD%B9%EF%BE%9D+%EF%BE%8A%EF%BE%85%EF%BD%BA&birth_date=1990-05-06",
            &staff,
            "",
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{text}");
        assert!(text.contains("見つかった加入者"), "{text}");
        let links: Vec<&str> = text
            .split("href=\"/console/members?member=")
            .skip(1)
            .map(|t| t.split('"').next().unwrap())
            .collect();
        assert_eq!(
            links.len(),
            5,
            "members 1–4 and 77 of 協会けんぽ, not the society's: {text}"
        );
        let (_, _, text) = w
            .page(
                Method::GET,
                &format!("/console/members?member={}", links[0]),
                &staff,
                "",
            )
            .await;
        assert!(text.contains("資格の履歴"), "{text}");
        let now = *w.clock.lock().unwrap();
        let theirs = w
            .store
            .find_member(
                &onshi_store::Actor::Operator("test".into()),
                &onshi_domain::MemberInput {
                    insurer_number: society().as_str(),
                    symbol: "10",
                    number: "5",
                    branch: "00",
                    ..Default::default()
                }
                .card_key()
                .unwrap(),
                now,
            )
            .await
            .unwrap()
            .unwrap();
        let (_, _, text) = w
            .page(
                Method::GET,
                &format!("/console/members?member={}", theirs.id),
                &staff,
                "",
            )
            .await;
        assert!(
            text.contains("この加入者はいません") && !text.contains("資格の履歴"),
            "{text}"
        );

        // The insurer's imports: one taken, one refused with its first problem, logged for the
        // console (the refused one stored nothing else).
        let uri = "/v1/checkup-archives/5521111111_01130012_202405271_1.zip";
        let (s, _) = w
            .upload(
                uri,
                Some(w.insurer.as_str()),
                crate::checkups::archive(&[crate::checkups::document("1")]),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let bad = crate::checkups::document("2").replace("9N006000000000001", "9N006000000000009");
        let (s, _) = w
            .upload(
                uri,
                Some(w.insurer.as_str()),
                crate::checkups::archive(&[bad]),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        // A member file, as `onshi import members` logs it (the CLI test covers the logging).
        let at = *w.clock.lock().unwrap();
        w.store
            .log_import(
                &onshi_store::Actor::Operator("admin".into()),
                &onshi_store::ImportRecord {
                    at,
                    kind: onshi_store::ImportKind::Members,
                    insurer_number: Some("01130012".into()),
                    actor_kind: String::new(),
                    actor_id: String::new(),
                    source: "members-2026-11.csv".into(),
                    imported: true,
                    documents: 12,
                    created: 2,
                    changed: 3,
                    linked: 0,
                    to_match: 0,
                    corrected: 0,
                    unchanged: 7,
                    problems: 0,
                    first_problems: String::new(),
                },
            )
            .await
            .unwrap();
        let (s, _, text) = w.page(Method::GET, "/console/imports", &staff, "").await;
        assert_eq!(s, StatusCode::OK, "{text}");
        assert!(
            text.contains("取り込み済み") && text.contains("1件（結び付け 1"),
            "{text}"
        );
        assert!(
            text.contains("不受理") && text.contains("9N006000000000009"),
            "{text}"
        );
        assert!(
            text.contains(
                "<td>加入者ファイル</td><td>operator admin</td><td>members-2026-11.csv</td>"
            ) && text.contains("12行（新規 2、変更 3、変更なし 7）"),
            "{text}"
        );
        assert!(!text.contains("シケン"), "no personal data in the log");

        // The programme of the current fiscal year and the two before (the clock is in FY2026).
        let (s, _, text) = w.page(Method::GET, "/console/programme", &staff, "").await;
        assert_eq!(s, StatusCode::OK, "{text}");
        for year in ["2024年度", "2025年度", "2026年度"] {
            assert!(
                text.contains(&format!("<th scope=\"row\">{year}</th>")),
                "{text}"
            );
        }
        assert!(
            text.contains("<figure class=\"chart\"") && text.contains("<svg"),
            "{text}"
        );

        // What the insurer's staff did: tanaka's sign-in and reads, nobody else's.
        let (s, _, text) = w.page(Method::GET, "/console/activity", &staff, "").await;
        assert_eq!(s, StatusCode::OK, "{text}");
        assert!(
            text.contains("<td>tanaka</td><td>職員がログイン</td>"),
            "{text}"
        );
        assert!(
            text.contains("<td>tanaka</td><td>資格の履歴を閲覧</td>"),
            "{text}"
        );
        assert!(!text.contains("suzuki"));

        // A facility's staff member signs in, but the insurer's console is not theirs.
        *w.clock.lock().unwrap() += Duration::seconds(30);
        let (s, h, _) = sign_in(&w, "suzuki", "pw-of-suzuki", &now_code(&w)).await;
        assert_eq!(
            (s, h[header::LOCATION].to_str().unwrap()),
            (StatusCode::SEE_OTHER, "/staff/home")
        );
        let facility: Vec<String> = set_cookies(&h)
            .into_iter()
            .filter(|c| c.starts_with("onshi_staff="))
            .collect();
        let (s, _, _) = w
            .page(Method::GET, "/console/members?number=1", &facility, "")
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _, _) = w
            .page(Method::GET, "/console/activity", &facility, "")
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _, _) = w.page(Method::GET, "/console/imports", &facility, "").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _, _) = w
            .page(Method::GET, "/console/programme", &facility, "")
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);

        // An employer's staff member lands on the employer's requests from its insurer.
        let ins = Some(w.insurer.as_str());
        w.add_employer("1001", "オンシ製作所", "E").await;
        let (s, r) = w
            .call(
                Method::PUT,
                "/v1/employers/1001/checkup-requests/2026",
                ins,
                json!({"due_date": "2027-03-31"}),
            )
            .await;
        assert!(s.is_success(), "{r}");
        account(&w, "sato", "employer", "01130012/1001").await;
        *w.clock.lock().unwrap() += Duration::seconds(30);
        let (s, h, _) = sign_in(&w, "sato", "pw-of-sato", &now_code(&w)).await;
        assert_eq!(
            (s, h[header::LOCATION].to_str().unwrap()),
            (StatusCode::SEE_OTHER, "/employer/requests")
        );
        let employer: Vec<String> = set_cookies(&h)
            .into_iter()
            .filter(|c| c.starts_with("onshi_staff="))
            .collect();
        let (s, _, text) = w
            .page(Method::GET, "/employer/requests", &employer, "")
            .await;
        assert_eq!(s, StatusCode::OK, "{text}");
        assert!(
            text.contains("<td>2026年度</td><td>2027-03-31</td>"),
            "{text}"
        );
        let (s, _, _) = w.page(Method::GET, "/employer/requests", &staff, "").await;
        assert_eq!(
            s,
            StatusCode::FORBIDDEN,
            "an insurer's staff member is not the employer's"
        );
        // The workplace's sheet (事業所カルテ): the employer's own, and its insurer's view of it;
        // another insurer's workplace code is not found.
        let (s, _, text) = w.page(Method::GET, "/employer/sheet", &employer, "").await;
        assert_eq!(s, StatusCode::OK, "{text}");
        assert!(
            text.contains("<h1>事業所カルテ</h1>")
                && text.contains("業態 製造業")
                && text.contains("2023〜2025年度"),
            "{text}"
        );
        let (s, _, text) = w
            .page(Method::GET, "/console/workplace?code=1001", &staff, "")
            .await;
        assert_eq!(s, StatusCode::OK, "{text}");
        assert!(text.contains("事業所 1001（保険者 01130012"), "{text}");
        let (s, _, _) = w
            .page(Method::GET, "/console/workplace?code=9999", &staff, "")
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _, _) = w.page(Method::GET, "/employer/sheet", &staff, "").await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        // No eligible members recorded with the workplace: no report of its own, and it says why.
        let (s, _, text) = w.page(Method::GET, "/employer/report", &employer, "").await;
        assert_eq!(s, StatusCode::OK, "{text}");
        assert!(
            text.contains("スコアリングレポートはありません") && text.contains("は0人です"),
            "{text}"
        );
        let (s, _, _) = w
            .page(Method::GET, "/employer/report.csv", &employer, "")
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        // The operator's national aggregates: its staff land there; an insurer's may not.
        account(&w, "ops", "operator", "").await;
        *w.clock.lock().unwrap() += Duration::seconds(30);
        let (s, h, _) = sign_in(&w, "ops", "pw-of-ops", &now_code(&w)).await;
        assert_eq!(
            (s, h[header::LOCATION].to_str().unwrap()),
            (StatusCode::SEE_OTHER, "/operator/reports")
        );
        let operator: Vec<String> = set_cookies(&h)
            .into_iter()
            .filter(|c| c.starts_with("onshi_staff="))
            .collect();
        let (s, _, text) = w
            .page(Method::GET, "/operator/reports?year=2025", &operator, "")
            .await;
        assert_eq!(s, StatusCode::OK, "{text}");
        assert!(
            text.contains("<h1>全国集計 2025年度</h1>")
                && text.contains("<th scope=\"row\">特定健診実施率</th>")
                && text.contains("<th scope=\"row\">肥満</th>")
                && text.contains("5段階評価の分布"),
            "{text}"
        );
        let (s, h, csv) = w
            .page(
                Method::GET,
                "/operator/reports.csv?year=2025",
                &operator,
                "",
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            h[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/csv"),
            "{h:?}"
        );
        assert!(csv.starts_with("\u{feff}年度,指標,"), "{csv}");
        assert!(csv.contains("\r\n2025,肥満,"), "{csv}");
        let (s, _, _) = w.page(Method::GET, "/operator/reports", &staff, "").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "an insurer's staff member");

        // The operator approves a facility that applied, on the page: its token is shown once,
        // the approval is audited as the staff member, and it cannot be approved twice.
        let master = [onshi_domain::FacilityInput {
            code: "2711111111",
            name: "試験医院",
            kind: "医科診療所",
            prefecture: "27",
            public: "0",
            beds: "0",
            ..Default::default()
        }
        .validate()
        .unwrap()];
        let now = *w.clock.lock().unwrap();
        let ops = onshi_store::Actor::Operator("ops".into());
        w.store
            .import_facilities(&master, &ops, now, &mut |_| {})
            .await
            .unwrap();
        let (_, _, text) = w
            .page(Method::GET, "/operator/facilities", &operator, "")
            .await;
        assert!(text.contains("承認を待っている施設はありません"), "{text}");
        let code = onshi_domain::FacilityCode::parse("2711111111").unwrap();
        w.store
            .open_portal_account(&code, &onshi_store::Actor::Facility(code.clone()), now)
            .await
            .unwrap();
        let (s, _, text) = w
            .page(Method::GET, "/operator/facilities", &operator, "")
            .await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            text.contains("<td>2711111111</td><th scope=\"row\">試験医院</th>"),
            "{text}"
        );
        let csrf = form_token(&text);
        let (s, _, _) = w
            .page(
                Method::POST,
                "/operator/facilities/approve",
                &operator,
                "csrf=forged&code=2711111111",
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let form = format!("csrf={csrf}&code=2711111111");
        let (s, _, text) = w
            .page(
                Method::POST,
                "/operator/facilities/approve",
                &operator,
                &form,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{text}");
        let token = text
            .split("2711111111: ")
            .nth(1)
            .and_then(|t| t.split('<').next())
            .unwrap()
            .to_owned();
        assert!(token.starts_with("onshi_fac_"), "{text}");
        let found = w
            .store
            .facility_by_token_hash(&onshi_store::token::hash(&token), now)
            .await
            .unwrap();
        assert_eq!(found.map(|(f, _)| f.code), Some(code.clone()));
        let (s, _, _) = w
            .page(
                Method::POST,
                "/operator/facilities/approve",
                &operator,
                &form,
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "approved once");
        let approvals = w
            .store
            .audit_of_action(onshi_domain::AuditAction::Onboard)
            .await
            .unwrap();
        assert_eq!(approvals.last().unwrap().actor_kind, "staff");
        let (s, _, _) = w
            .page(Method::GET, "/operator/facilities", &staff, "")
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "an insurer's staff member");

        // Logout needs the page's token; after it the cookie opens nothing.
        let (_, _, text) = w.page(Method::GET, "/console/members", &staff, "").await;
        let csrf = form_token(&text);
        let (s, _, _) = w
            .page(Method::POST, "/staff/logout", &staff, "csrf=forged")
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _, _) = w
            .page(
                Method::POST,
                "/staff/logout",
                &staff,
                &format!("csrf={csrf}"),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, _, _) = w.page(Method::GET, "/console/members", &staff, "").await;
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "the stolen cookie is dead after logout"
        );

        // Five failures lock the account: then even both factors are refused, and audited.
        for _ in 0..5 {
            sign_in(&w, "tanaka", "wrong", "000000").await;
        }
        *w.clock.lock().unwrap() += Duration::seconds(60);
        let (s, _, text) = sign_in(&w, "tanaka", "pw-of-tanaka", &now_code(&w)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(text.contains("しばらくログインできません"), "{text}");
        assert!(
            !w.store
                .audit_of_action(onshi_domain::AuditAction::StaffLockedOut)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            w.store
                .audit_of_action(onshi_domain::AuditAction::StaffLoginFailed)
                .await
                .unwrap()
                .len()
                >= 8
        );
        assert!(w.store.verify_audit().await.unwrap().is_ok());
        db.cleanup().await;
    }
}
