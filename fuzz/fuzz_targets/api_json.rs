//! The JSON bodies of the API: each request type deserialized, and the fields of any JSON
//! object validated as a member (with its 限度額 certificate and card), as a number check's card
//! key and dates, and as a bulk look-up's rows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use onshi_api::{
    BulkRequest, CardCheckRequest, ChallengeRequest, EndBody, MemberBody, NumberCheckRequest,
};
use onshi_domain::card::CARD_COLUMNS;
use onshi_domain::limit::LIMIT_COLUMNS;
use onshi_domain::{CardInput, LimitInput, MemberInput, parse_date};
use serde_json::{Map, Value};

fn number_check(req: &NumberCheckRequest) {
    let input = MemberInput {
        insurer_number: &req.insurer_number,
        symbol: &req.symbol,
        number: &req.number,
        branch: &req.branch,
        ..Default::default()
    };
    let _ = input.card_key();
    for d in [&req.birth_date, &req.consultation_date].into_iter().flatten() {
        let _ = parse_date(d);
    }
}

fuzz_target!(|bytes: &[u8]| {
    let _ = serde_json::from_slice::<MemberBody>(bytes);
    let _ = serde_json::from_slice::<EndBody>(bytes);
    let _ = serde_json::from_slice::<ChallengeRequest>(bytes);
    if let Ok(req) = serde_json::from_slice::<CardCheckRequest>(bytes) {
        let _ = req.proof();
    }
    if let Ok(req) = serde_json::from_slice::<NumberCheckRequest>(bytes) {
        number_check(&req);
    }
    if let Ok(bulk) = serde_json::from_slice::<BulkRequest>(bytes) {
        for item in bulk.items {
            number_check(&item.into_check(bulk.consultation_date.clone()));
        }
    }
    let Ok(map) = serde_json::from_slice::<Map<String, Value>>(bytes) else {
        return;
    };
    let text = |name: &str| map.get(name).and_then(Value::as_str).unwrap_or("");
    let input = MemberInput {
        insurer_number: text("insurer_number"),
        symbol: text("symbol"),
        number: text("number"),
        branch: text("branch"),
        name: text("name"),
        name_kana: text("name_kana"),
        birth_date: text("birth_date"),
        sex: text("sex"),
        relationship: text("relationship"),
        qualified_from: text("qualified_from"),
        qualified_until: text("qualified_until"),
        copay_ratio: text("copay_ratio"),
        my_number: text("my_number"),
        loss_reason: text("loss_reason"),
        limit: LimitInput::from_columns(LIMIT_COLUMNS.map(text)),
        card: CardInput::from_columns(CARD_COLUMNS.map(text)),
        employer: text("employer"),
    };
    let _ = input.validate();
});
