#!/usr/bin/env bash
# Writes the fuzzers' seed corpus (fuzz/corpus/<target>/seed-*) from what the tests use: the
# interface samples and requests of crates/onshi-interface/tests, a member file from
# `onshi gen members` (UTF-8 and CP932), and a demo PKI's anchor, CRL and card from `onshi pki`.
# Run from the repository root; it builds the debug onshi binary if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p onshi
O=target/debug/onshi
C=fuzz/corpus
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
rm -f "$C"/*/seed-*
mkdir -p "$C"/{xmlmsg,member_csv,certificate,crl,card_proof,api_json,checkup_archive}

for f in crates/onshi-interface/tests/samples/*.xml; do cp "$f" "$C/xmlmsg/seed-$(basename "$f")"; done
H='<?xml version="1.0" encoding="UTF-8"?><XmlMsg><MessageHeader><QualificationConfirmationDate>20261124</QualificationConfirmationDate><MedicalInstitutionCode>1311234567</MedicalInstitutionCode><ArbitraryFileIdentifier>a&amp;b</ArbitraryFileIdentifier></MessageHeader><MessageBody>'
S='<QualificationConfirmSearchInfo><InsurerNumber>01130012</InsurerNumber><InsuredCardSymbol>10</InsuredCardSymbol><InsuredIdentificationNumber>1</InsuredIdentificationNumber><InsuredBranchNumber>00</InsuredBranchNumber><Birthdate>19900506</Birthdate><LimitApplicationCertificateRelatedConsFlg>1</LimitApplicationCertificateRelatedConsFlg><ArbitraryIdentifier>p1</ArbitraryIdentifier></QualificationConfirmSearchInfo>'
printf '%s%s</MessageBody></XmlMsg>' "$H" "$S" >"$C/xmlmsg/seed-single.xml"
printf '%s%s%s</MessageBody></XmlMsg>' "$H" "$S" "$S" >"$C/xmlmsg/seed-bulk-upload.xml"
printf '%s<ReceptionNumber>4F1A09C2D3E4B5A69788</ReceptionNumber></MessageBody></XmlMsg>' "$H" >"$C/xmlmsg/seed-bulk-download.xml"
python3 - "$C/xmlmsg" <<'PY'
import sys
d = sys.argv[1]
text = open(f"{d}/seed-single.xml", encoding="utf-8").read().replace("UTF-8", "Shift_JIS").replace("p1", "試験ｼｹﾝ")
open(f"{d}/seed-single-sjis.xml", "wb").write(text.encode("cp932"))
PY

$O gen members --count 30 --out "$T/m.csv" >/dev/null
$O gen members --count 30 --encoding cp932 --out "$T/m-sjis.csv" >/dev/null
{ printf '\0'; cat "$T/m.csv"; } >"$C/member_csv/seed-utf8.csv"
{ printf '\1'; cat "$T/m-sjis.csv"; } >"$C/member_csv/seed-cp932.csv"

$O pki init --dir "$T/pki" >/dev/null
$O pki issue --dir "$T/pki" --my-number 123456789018 --out "$T/card.json" >/dev/null
python3 - "$T" "$C" <<'PY'
import base64, json, sys
t, c = sys.argv[1], sys.argv[2]
card = json.load(open(f"{t}/card.json"))
der = base64.b64decode(card["certificate"])
open(f"{c}/certificate/seed-card.der", "wb").write(der)
open(f"{c}/certificate/seed-anchor.pem", "wb").write(open(f"{t}/pki/card-ca.pem", "rb").read())
open(f"{c}/crl/seed-card.crl", "wb").write(open(f"{t}/pki/card.crl", "rb").read())
body = {"challenge_id": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "certificate": card["certificate"],
        "signature": base64.b64encode(b"\x00" * 256).decode(), "consultation_date": "2026-11-24",
        "consent": ["medication", "limit"]}
open(f"{c}/card_proof/seed-check.json", "w").write(json.dumps(body))
bodies = {
    "member": {"insurer_number": "01130012", "symbol": "10", "number": "1", "branch": "00", "name": "試験 花子",
               "name_kana": "シケン ハナコ", "birth_date": "1990-05-06", "sex": "2", "relationship": "1",
               "qualified_from": "2020-04-01", "copay_ratio": "30", "limit_class": "01", "limit_bracket": "A03",
               "limit_valid_from": "2026-04-01", "card_class": "01", "post_number": "100-0001"},
    "number": {"insurer_number": "01130012", "symbol": "10", "number": "1", "branch": "00", "birth_date": "19900506",
               "consultation_date": "2026-11-24", "limit_consent": True},
    "bulk": {"consultation_date": "2026-11-24", "items": [{"insurer_number": "01130012", "number": "1", "branch": "00",
             "birth_date": "19900506", "arbitrary_identifier": "p1"}]},
    "end": {"qualified_until": "2026-03-31", "loss_reason": "03"},
    "challenge": {"purpose": "check"},
}
for name, b in bodies.items():
    open(f"{c}/api_json/seed-{name}.json", "w").write(json.dumps(b, ensure_ascii=False))
PY
python3 - "$C/checkup_archive" <<'PY'
import sys, zipfile
root = "5521111111_00280081_202405271_1"
index = ('<?xml version="1.0" encoding="UTF-8"?><index xmlns="https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html">'
         '<interactionType code="1"/><creationTime value="20240527"/>'
         '<sender><id root="1.2.392.200119.6.102" extension="5521111111"/></sender>'
         '<receiver><id root="1.2.392.200119.6.101" extension="00280081"/></receiver>'
         '<serviceEventType code="1"/><totalRecordCount value="1"/></index>')
with zipfile.ZipFile(f"{sys.argv[1]}/seed-archive.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr(f"{root}/ix08_V08.xml", index)
    z.writestr(f"{root}/DATA/h552111111120240527100000001.xml", '<ClinicalDocument xmlns="urn:hl7-org:v3"/>')
PY
cp crates/onshi-checkup/tests/fixtures/hc08-example.xml "$C/checkup_archive/seed-hc08.xml"
ls "$C"/* | head -40
