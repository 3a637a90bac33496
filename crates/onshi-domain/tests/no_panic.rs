//! Every parser of the domain takes any text without panicking: it parses or names what is
//! wrong. The member fields (as a member file's row or a JSON body gives them), the stored
//! forms read back from a database, and signed checkpoints read from files.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use onshi_domain::checkpoint::Checkpoint;
use onshi_domain::{CardDetails, CardInput, LimitCertificate, LimitInput, MemberInput};
use proptest::prelude::*;

/// Text that mixes what the parsers look for (digits, separators, kana, full-width forms,
/// controls) so that cases reach past the first check.
fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        "[0-9０-９A-Za-z \\-/|:._\u{3000}ア-ンｱ-ﾝ試験\u{1f}\u{0}\u{202e}\u{feff}]{0,24}",
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn member_fields_never_panic(f in proptest::collection::vec(text(), 31)) {
        let input = MemberInput {
            insurer_number: &f[0],
            symbol: &f[1],
            number: &f[2],
            branch: &f[3],
            name: &f[4],
            name_kana: &f[5],
            birth_date: &f[6],
            sex: &f[7],
            relationship: &f[8],
            qualified_from: &f[9],
            qualified_until: &f[10],
            copay_ratio: &f[11],
            my_number: &f[12],
            loss_reason: &f[13],
            limit: LimitInput::from_columns([&f[14], &f[15], &f[16], &f[17], &f[18], &f[19]]),
            card: CardInput::from_columns([
                &f[20], &f[21], &f[22], &f[23], &f[24], &f[25], &f[26], &f[27], &f[28], &f[29],
                &f[30],
            ]),
            employer: "",
        };
        let _ = input.validate();
        let _ = input.card_key();
    }

    #[test]
    fn stored_forms_and_checkpoints_never_panic(s in text(), key in proptest::collection::vec(any::<u8>(), 0..40)) {
        let _ = CardDetails::from_stored(&s);
        let _ = LimitCertificate::from_stored(&s);
        let _ = Checkpoint::verify(&s, &key);
        let signed = format!("onshi audit checkpoint v1\n{s}\n1\nab\ncd\n2026-11-27T00:00:00Z\n\n— {s} {s}\n");
        let _ = Checkpoint::verify(&signed, &key);
    }
}
