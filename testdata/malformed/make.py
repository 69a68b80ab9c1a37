#!/usr/bin/env python3
"""Makes the hand-made malformed inputs of this folder from a genuine document.

Each case writes NAME.bin (or .txt/.json/.pem) and NAME.about: what it is and how it was made.
Deterministic: run it again and nothing changes. python3 testdata/malformed/make.py
"""
import base64
import os

HERE = os.path.dirname(os.path.abspath(__file__))
REAL = os.path.join(HERE, "..", "real", "raw", "taskcluster_2025_rsatls07.der")


def tlv(der, pos):
    """(tag, header_len, content_len) of the TLV at pos."""
    tag = der[pos]
    first = der[pos + 1]
    if first < 0x80:
        return tag, 2, first
    n = first & 0x7F
    return tag, 2 + n, int.from_bytes(der[pos + 2 : pos + 2 + n], "big")


def length(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def enc(tag, content):
    return bytes([tag]) + length(len(content)) + content


def children(der, start, end):
    out, pos = [], start
    while pos < end:
        tag, h, n = tlv(der, pos)
        out.append(der[pos : pos + h + n])
        pos += h + n
    return out


def content(elem):
    _, h, n = tlv(elem, 0)
    return elem[h : h + n]


real = open(REAL, "rb").read()
# ContentInfo = SEQUENCE { OID, [0] { SignedData } }
ci_oid, ci_explicit = children(real, *(lambda t: (t[1], t[1] + t[2]))(tlv(real, 0)))
signed_data = content(ci_explicit)
sd_fields = children(signed_data, tlv(signed_data, 0)[1], len(signed_data))
# version, digestAlgorithms, encapContentInfo, [0] certificates, signerInfos
version, digest_algs, encap, certs, signer_infos = sd_fields


def rebuild(fields, oid=ci_oid):
    return enc(0x30, oid + enc(0xA0, enc(0x30, b"".join(fields))))


assert rebuild(sd_fields) == real, "the re-encoder must reproduce the genuine document"

cases = {}


def case(name, data, about):
    cases[name] = (data, about)


case("empty.bin", b"", "Empty input: zero bytes.")
case("truncated-half.bin", real[: len(real) // 2],
     "The genuine 2025 document (testdata/real/raw/taskcluster_2025_rsatls07.der) cut at half its length.")
case("truncated-in-signature.bin", real[:-1],
     "The genuine 2025 document without its last byte (the end of the RSA signature).")
case("length-overclaims.bin", b"\x30\x84\x7f\xff\xff\xff" + real[4:],
     "The genuine document with its outer length replaced by 0x7FFFFFFF (4 length octets): "
     "a length that claims 2 GiB while the input holds 3 KB.")
case("indefinite-length.bin", b"\x30\x80" + real[4:] + b"\x00\x00",
     "The genuine document with its outer SEQUENCE re-encoded with an indefinite length (0x80) "
     "and an end-of-contents marker: valid BER, not DER.")
oid_long = b"\x06\x81\x09" + ci_oid[2:]
case("nonminimal-length.bin", rebuild(sd_fields, oid=oid_long),
     "The genuine document with the ContentInfo OID's length written as 0x81 0x09 instead of "
     "0x09: a non-minimal length, valid BER, not DER.")
nested = b"\x05\x00"
for _ in range(10000):
    nested = enc(0x30, nested)
case("nested-10000.bin", nested, "A NULL inside 10000 nested SEQUENCEs.")
case("signerinfos-zero.bin", rebuild([version, digest_algs, encap, certs, enc(0x31, b"")]),
     "The genuine document with an empty signerInfos SET.")
# An OID with one arc of 64 base-128 digits (about 2^441).
absurd = b"\x2a" + b"\x81" * 63 + b"\x00"
case("oid-absurd-arc.bin", rebuild(sd_fields, oid=enc(0x06, absurd)),
     "The genuine document with the ContentInfo OID replaced by 1.2.N where N has 64 base-128 "
     "digits (about 2^441), far beyond any OID library's limit.")
data_oid = bytes.fromhex("06092a864886f70d010701")
case("not-signed-data.bin", rebuild(sd_fields, oid=data_oid),
     "The genuine document's SignedData under the ContentInfo content type id-data instead of "
     "id-signedData.")
case("trailing-garbage.bin", real + b"garbage",
     "The genuine document followed by the 7 ASCII bytes 'garbage'.")
case("base64-junk.txt", base64.b64encode(real[:300]) + b"*!junk!*" + base64.b64encode(real[300:]),
     "The genuine document in base64 with the characters '*!junk!*' inserted after 400 characters.")
case("json-wrong-encoding.json",
     b'{"encoding":"jws","signature":"' + base64.b64encode(real) + b'"}',
     "The IMDS JSON response around the genuine document, with encoding 'jws' instead of 'pkcs7'.")
case("pem-certificate-label.pem",
     b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(real) + b"-----END CERTIFICATE-----\n",
     "The genuine document as PEM under the label CERTIFICATE instead of PKCS7.")



def claims(created, expires, vm_id=b"02aab8a4-74ef-476e-8182-f6d2ba4166a6", extra=b""):
    return (b'{"licenseType":"","nonce":"nonce-1",' + extra +
            b'"plan":{"name":"","product":"","publisher":""},"sku":"","subscriptionId":"s",'
            b'"timeStamp":{"createdOn":"' + created + b'","expiresOn":"' + expires + b'"},'
            b'"vmId":"' + vm_id + b'"}')


SIGNED = " The tests sign it with the test PKI and verify it at 2026-06-01T12:00:00Z."
GOOD = (b"06/01/26 12:00:00 -0000", b"06/01/26 18:00:00 -0000")
case("content-nested-10000.json", b'{"vmId":' + b"[" * 10000 + b"]" * 10000 + b"}",
     "Signed content: a JSON array nested 10000 deep." + SIGNED)
case("content-invalid-utf8.json", claims(*GOOD, vm_id=b"vm-\xff-id"),
     "Signed content: claims whose vmId holds the byte 0xFF (invalid UTF-8)." + SIGNED)
case("content-nul-byte.json", claims(*GOOD, vm_id=b"vm-\x00-id"),
     "Signed content: claims whose vmId holds a raw NUL byte." + SIGNED)
case("content-february-30.json", claims(b"02/30/25 12:00:00 -0000", b"02/30/25 18:00:00 -0000"),
     "Signed content: createdOn on 30 February." + SIGNED)
case("content-month-13.json", claims(b"13/01/25 12:00:00 -0000", b"13/01/25 18:00:00 -0000"),
     "Signed content: createdOn in month 13." + SIGNED)
case("content-hour-24.json", claims(b"06/01/26 24:00:00 -0000", b"06/02/26 06:00:00 -0000"),
     "Signed content: createdOn at 24:00:00." + SIGNED)
case("content-year-99.json", claims(b"12/31/99 23:59:59 -0000", b"01/01/00 05:59:59 -0000"),
     "Signed content: createdOn 12/31/99, read as 2099 (two-digit years are 20YY), and expiresOn "
     "01/01/00 (2000), earlier than createdOn: an impossible window." + SIGNED)
case("content-year-00.json", claims(b"01/01/00 00:00:00 -0000", b"01/01/00 06:00:00 -0000"),
     "Signed content: a document from 2000-01-01 (two-digit year 00 is 2000)." + SIGNED)
case("content-duplicate-nonce.json", claims(*GOOD, extra=b'"nonce":"nonce-2",'),
     "Signed content: the key nonce given twice, with two values." + SIGNED)
case("content-no-timestamp.json",
     b'{"nonce":"nonce-1","vmId":"02aab8a4-74ef-476e-8182-f6d2ba4166a6"}',
     "Signed content: claims without timeStamp." + SIGNED)

for name, (data, about) in sorted(cases.items()):
    open(os.path.join(HERE, name), "wb").write(data)
    open(os.path.join(HERE, name.rsplit(".", 1)[0] + ".about"), "w").write(about + "\n")
print(f"{len(cases)} cases written")
