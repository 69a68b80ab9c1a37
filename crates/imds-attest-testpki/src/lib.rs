//! A throw-away PKI shaped like Azure's, generated at test time, and documents signed the way
//! IMDS signs them: the sha256WithRSAEncryption OID as digest algorithm, no signed attributes,
//! only the leaf embedded, issuerAndSerialNumber as signer identifier.
//!
//! Every knob of [`CertSpec`] and [`DocSpec`] exists to make one malformed or hostile variant
//! for a test: a CN-only leaf, a non-CA issuer, a 1024-bit key, an MD5 signature, a detached or
//! doubly-signed document. Shared by the library's tests, the CLI's tests, the fuzz corpus and
//! the IMDS emulator.
//!
//! With the `kit` feature, which only dev-dependencies turn on, it is also the workspace's test
//! kit: `redis` (a real `redis-server`), `genuine` (the documents of `testdata/real/`), `temp`
//! (temporary directories) and `parallel` (work on every core, for the benchmarks).
//!
//! ```
//! use imds_attest_testpki::{claims_json, TestPki, REFERENCE_TIME};
//! let pki = TestPki::azure();
//! let der = pki.sign(&claims_json("nonce-1", REFERENCE_TIME));
//! assert_eq!(der.first(), Some(&0x30));
//! ```
// Test tooling: a failure here is a broken test setup, and panicking says so best.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[cfg(feature = "kit")]
pub mod genuine;
pub mod hostile;
pub mod loopback;
#[cfg(feature = "kit")]
pub mod parallel;
#[cfg(feature = "kit")]
pub mod redis;
#[cfg(feature = "kit")]
pub mod temp;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::db::rfc5911::{ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA};
use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode, Tag};
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509NameBuilder, X509};
use time::{Duration, OffsetDateTime};
use x509_cert::attr::Attribute;
use x509_cert::spki::AlgorithmIdentifierOwned;

/// The instant the default PKI and documents are valid at: 2026-06-01T12:00:00Z.
pub const REFERENCE_TIME: OffsetDateTime = time::macros::datetime!(2026-06-01 12:00:00 UTC);

/// id-sha256.
pub const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// id-sha1.
pub const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
/// id-md5.
pub const OID_MD5: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.2.5");
/// rsaEncryption: the signature algorithm IMDS writes.
pub const OID_RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// sha256WithRSAEncryption: the digest algorithm IMDS writes.
pub const OID_SHA256_WITH_RSA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// sha1WithRSAEncryption.
pub const OID_SHA1_WITH_RSA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
/// RSASSA-PSS.
pub const OID_RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
/// ecdsa-with-SHA256.
pub const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// A key type for a generated certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA with this many bits.
    Rsa(u32),
    /// ECDSA on P-256.
    P256,
    /// ECDSA on P-384.
    P384,
    /// ECDSA on secp256k1 (a curve the verifier refuses).
    Secp256k1,
}

/// A private key: from a per-process pool for the common RSA-2048 case (generation is slow),
/// fresh otherwise.
pub fn key(kind: KeyKind, slot: usize) -> PKey<Private> {
    static POOL: [OnceLock<PKey<Private>>; 12] = [const { OnceLock::new() }; 12];
    match (kind, POOL.get(slot)) {
        (KeyKind::Rsa(2048), Some(cell)) => cell.get_or_init(|| generate(kind)).clone(),
        _ => generate(kind),
    }
}

fn generate(kind: KeyKind) -> PKey<Private> {
    let ec =
        |nid| PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(nid).unwrap()).unwrap());
    match kind {
        KeyKind::Rsa(bits) => PKey::from_rsa(Rsa::generate(bits).unwrap()),
        KeyKind::P256 => ec(Nid::X9_62_PRIME256V1),
        KeyKind::P384 => ec(Nid::SECP384R1),
        KeyKind::Secp256k1 => ec(Nid::SECP256K1),
    }
    .unwrap()
}

/// How to make one certificate.
#[derive(Debug, Clone)]
pub struct CertSpec {
    /// Subject CN (the only subject attribute, plus O=Microsoft Corporation).
    pub cn: String,
    /// SAN dNSNames; `None` omits the extension altogether.
    pub san: Option<Vec<String>>,
    /// basicConstraints cA.
    pub ca: bool,
    /// basicConstraints pathLenConstraint.
    pub path_len: Option<u32>,
    /// notBefore.
    pub not_before: OffsetDateTime,
    /// notAfter.
    pub not_after: OffsetDateTime,
    /// Hash of the certificate's own signature.
    pub hash: fn() -> MessageDigest,
    /// Key type.
    pub key: KeyKind,
    /// Key pool slot (see [`key`]); distinct slots give distinct RSA-2048 keys.
    pub slot: usize,
}

impl CertSpec {
    /// A CA certificate valid five years around [`REFERENCE_TIME`].
    pub fn ca(cn: &str, slot: usize) -> CertSpec {
        CertSpec {
            cn: cn.into(),
            san: None,
            ca: true,
            path_len: None,
            not_before: REFERENCE_TIME - Duration::days(365),
            not_after: REFERENCE_TIME + Duration::days(4 * 365),
            hash: MessageDigest::sha256,
            key: KeyKind::Rsa(2048),
            slot,
        }
    }

    /// An IMDS signer: CN metadata.azure.com, SAN eastus.metadata.azure.com and
    /// metadata.azure.com, valid from 30 days before to 180 days after [`REFERENCE_TIME`].
    pub fn imds_leaf() -> CertSpec {
        CertSpec {
            cn: "metadata.azure.com".into(),
            san: Some(vec![
                "eastus.metadata.azure.com".into(),
                "metadata.azure.com".into(),
            ]),
            ca: false,
            path_len: None,
            not_before: REFERENCE_TIME - Duration::days(30),
            not_after: REFERENCE_TIME + Duration::days(180),
            hash: MessageDigest::sha384,
            key: KeyKind::Rsa(2048),
            slot: 3,
        }
    }
}

/// A certificate and its private key.
#[derive(Clone)]
pub struct Issued {
    /// The certificate.
    pub cert: X509,
    /// Its private key.
    pub key: PKey<Private>,
}

impl Issued {
    /// Issues a certificate by `spec`, signed by `issuer` (self-signed when `None`).
    pub fn new(spec: &CertSpec, issuer: Option<&Issued>) -> Issued {
        Issued::with_aia(spec, issuer, None)
    }

    /// [`new`](Self::new), naming `aia` (when given) as the AIA caIssuers URL: where the
    /// issuer's certificate is published, for tests of fetching a missing intermediate.
    pub fn with_aia(spec: &CertSpec, issuer: Option<&Issued>, aia: Option<&str>) -> Issued {
        static SERIAL: AtomicU32 = AtomicU32::new(0x1000);
        let key = key(spec.key, spec.slot);
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "Microsoft Corporation")
            .unwrap();
        name.append_entry_by_nid(Nid::COMMONNAME, &spec.cn).unwrap();
        let name = name.build();
        let mut b = X509Builder::new().unwrap();
        b.set_version(2).unwrap();
        let serial = BigNum::from_u32(SERIAL.fetch_add(1, Ordering::Relaxed)).unwrap();
        b.set_serial_number(&Asn1Integer::from_bn(&serial).unwrap())
            .unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(issuer.map_or(&*name, |i| i.cert.subject_name()))
            .unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&asn1_time(spec.not_before)).unwrap();
        b.set_not_after(&asn1_time(spec.not_after)).unwrap();
        let mut bc = BasicConstraints::new();
        bc.critical();
        if spec.ca {
            bc.ca();
            if let Some(n) = spec.path_len {
                bc.pathlen(n);
            }
        }
        b.append_extension(bc.build().unwrap()).unwrap();
        let mut ku = KeyUsage::new();
        ku.critical();
        if spec.ca {
            ku.key_cert_sign().crl_sign().digital_signature();
        } else {
            ku.digital_signature().key_encipherment();
        }
        b.append_extension(ku.build().unwrap()).unwrap();
        if !spec.ca {
            b.append_extension(
                ExtendedKeyUsage::new()
                    .server_auth()
                    .client_auth()
                    .build()
                    .unwrap(),
            )
            .unwrap();
        }
        let ctx_ski = SubjectKeyIdentifier::new()
            .build(&b.x509v3_context(issuer.map(|i| &*i.cert), None))
            .unwrap();
        b.append_extension(ctx_ski).unwrap();
        if let Some(issuer) = issuer {
            let aki = AuthorityKeyIdentifier::new()
                .keyid(true)
                .build(&b.x509v3_context(Some(&issuer.cert), None))
                .unwrap();
            b.append_extension(aki).unwrap();
        }
        if let Some(names) = &spec.san {
            let mut san = SubjectAlternativeName::new();
            for n in names {
                san.dns(n);
            }
            let ext = san.build(&b.x509v3_context(None, None)).unwrap();
            b.append_extension(ext).unwrap();
        }
        if let Some(url) = aia {
            b.append_extension(aia_extension(url).unwrap()).unwrap();
        }
        let signing_key = issuer.map_or(&key, |i| &i.key);
        b.sign(signing_key, (spec.hash)()).unwrap();
        Issued {
            cert: b.build(),
            key,
        }
    }

    /// The certificate as PEM text.
    pub fn pem(&self) -> String {
        String::from_utf8(self.cert.to_pem().unwrap()).unwrap()
    }

    /// The private key as PKCS#8 PEM text.
    pub fn key_pem(&self) -> String {
        String::from_utf8(self.key.private_key_to_pem_pkcs8().unwrap()).unwrap()
    }

    /// A certificate and key read back from [`pem`](Self::pem) and [`key_pem`](Self::key_pem)
    /// output; `None` when either does not parse.
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Option<Issued> {
        Some(Issued {
            cert: X509::from_pem(cert).ok()?,
            key: PKey::private_key_from_pem(key).ok()?,
        })
    }
}

/// An Authority Information Access extension (RFC 5280 §4.2.2.1) naming the issuer's
/// certificate at `url`: id-pe-authorityInfoAccess with one id-ad-caIssuers
/// uniformResourceIdentifier. The one writer of it, for the test PKI and the emulator's.
///
/// ```text
/// AuthorityInfoAccessSyntax ::= SEQUENCE SIZE (1..MAX) OF AccessDescription
/// AccessDescription ::= SEQUENCE { accessMethod OBJECT IDENTIFIER, accessLocation GeneralName }
/// ```
pub fn aia_extension(
    url: &str,
) -> Result<openssl::x509::X509Extension, openssl::error::ErrorStack> {
    use hostile::tlv;
    // id-ad-caIssuers, 1.3.6.1.5.5.7.48.2.
    const CA_ISSUERS: [u8; 10] = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];
    let mut description = CA_ISSUERS.to_vec();
    description.extend(tlv(0x86, url.as_bytes())); // [6] IA5String
    let der = tlv(0x30, &tlv(0x30, &description));
    let oid = openssl::asn1::Asn1Object::from_str("1.3.6.1.5.5.7.1.1")?;
    let value = openssl::asn1::Asn1OctetString::new_from_bytes(&der)?;
    openssl::x509::X509Extension::new_from_der(&oid, false, &value)
}

fn asn1_time(t: OffsetDateTime) -> Asn1Time {
    Asn1Time::from_unix(t.unix_timestamp()).unwrap()
}

/// A root, its intermediates (root side first) and an IMDS leaf.
#[derive(Clone)]
pub struct TestPki {
    /// The self-signed trust anchor.
    pub root: Issued,
    /// Intermediates, the one the root issued first, the leaf's issuer last.
    pub intermediates: Vec<Issued>,
    /// The document signer.
    pub leaf: Issued,
}

impl TestPki {
    /// The 2020-2025 shape: root → issuing CA → leaf.
    pub fn azure() -> TestPki {
        TestPki::with_leaf(
            &["Test Azure RSA TLS Issuing CA 07"],
            &CertSpec::imds_leaf(),
            0,
        )
    }

    /// The 2026 G2 shape, three certificates above the leaf: root → cross-signed
    /// "TLS RSA Root G2" → "TLS G2 RSA CA OCSP 02" → leaf.
    pub fn azure_g2() -> TestPki {
        TestPki::with_leaf(
            &["Test TLS RSA Root G2", "Test TLS G2 RSA CA OCSP 02"],
            &CertSpec::imds_leaf(),
            0,
        )
    }

    /// A chain of CAs with these CNs under a root named "Test Global Root G2", ending in a leaf
    /// made by `leaf`. Keys come from pool slots `slot_base..slot_base + 4` (the leaf's slot is
    /// offset too), so two PKIs with different bases share no key.
    pub fn with_leaf(intermediate_cns: &[&str], leaf: &CertSpec, slot_base: usize) -> TestPki {
        let root = Issued::new(&CertSpec::ca("Test Global Root G2", slot_base), None);
        let mut intermediates: Vec<Issued> = Vec::new();
        for (i, cn) in intermediate_cns.iter().enumerate() {
            let parent = intermediates.last().unwrap_or(&root);
            let spec = CertSpec::ca(cn, slot_base + 1 + i % 2);
            intermediates.push(Issued::new(&spec, Some(parent)));
        }
        let leaf_spec = CertSpec {
            slot: leaf.slot + slot_base,
            ..leaf.clone()
        };
        let leaf = Issued::new(&leaf_spec, Some(intermediates.last().unwrap_or(&root)));
        TestPki {
            root,
            intermediates,
            leaf,
        }
    }

    /// The root as PEM.
    pub fn root_pem(&self) -> String {
        self.root.pem()
    }

    /// Every intermediate as one PEM bundle.
    pub fn intermediates_pem(&self) -> String {
        self.intermediates.iter().map(Issued::pem).collect()
    }

    /// Signs `content` exactly as IMDS does.
    pub fn sign(&self, content: &[u8]) -> Vec<u8> {
        DocSpec::imds(content).sign(&self.leaf)
    }
}

/// Signed attributes to put in a document (IMDS puts none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedAttrs {
    /// No signed attributes: the signature covers the content.
    None,
    /// A correct content-type and message-digest.
    Valid,
    /// content-type says id-signedData.
    WrongContentType,
    /// message-digest is the digest of other bytes.
    WrongDigest,
    /// No message-digest attribute.
    MissingDigest,
}

/// A rewrite of signature bytes.
pub type SignatureTweak = fn(&[u8]) -> Vec<u8>;

/// How to make one document.
#[derive(Clone)]
pub struct DocSpec {
    /// The content (claims JSON).
    pub content: Vec<u8>,
    /// SignerInfo digestAlgorithm OID.
    pub digest_oid: ObjectIdentifier,
    /// The hash actually used to sign.
    pub hash: fn() -> MessageDigest,
    /// SignerInfo signatureAlgorithm OID.
    pub signature_oid: ObjectIdentifier,
    /// Signed attributes.
    pub signed_attrs: SignedAttrs,
    /// Certificates to embed (default: the leaf only).
    pub embed: Option<Vec<X509>>,
    /// Identify the signer by subjectKeyIdentifier instead of issuerAndSerialNumber.
    pub sid_by_ski: bool,
    /// Sign with this key instead of the leaf's.
    pub signing_key: Option<PKey<Private>>,
    /// Add a second, identical SignerInfo but for the signature bytes.
    pub second_signer: bool,
    /// Leave the content out (a detached signature).
    pub detached: bool,
    /// Bytes appended after the DER.
    pub trailing: Vec<u8>,
    /// Rewrites the signature bytes after signing.
    pub tweak_signature: Option<SignatureTweak>,
    /// SignedData digestAlgorithms (default: the SignerInfo's digest algorithm alone).
    pub listed_digests: Option<Vec<ObjectIdentifier>>,
}

impl DocSpec {
    /// IMDS's own shape around `content`.
    pub fn imds(content: &[u8]) -> DocSpec {
        DocSpec {
            content: content.to_vec(),
            digest_oid: OID_SHA256_WITH_RSA,
            hash: MessageDigest::sha256,
            signature_oid: OID_RSA_ENCRYPTION,
            signed_attrs: SignedAttrs::None,
            embed: None,
            sid_by_ski: false,
            signing_key: None,
            second_signer: false,
            detached: false,
            trailing: Vec::new(),
            tweak_signature: None,
            listed_digests: None,
        }
    }

    /// The DER ContentInfo, signed by `signer` (its certificate names the signer).
    pub fn sign(&self, signer: &Issued) -> Vec<u8> {
        let cert = x509_cert::Certificate::from_der(&signer.cert.to_der().unwrap()).unwrap();
        let sid = if self.sid_by_ski {
            let ski = signer.cert.subject_key_id().unwrap().as_slice().to_vec();
            SignerIdentifier::SubjectKeyIdentifier(x509_cert::ext::pkix::SubjectKeyIdentifier(
                OctetString::new(ski).unwrap(),
            ))
        } else {
            SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: cert.tbs_certificate.issuer.clone(),
                serial_number: cert.tbs_certificate.serial_number.clone(),
            })
        };
        let md = (self.hash)();
        let signed_attrs = self.signed_attributes(md);
        let to_sign = match &signed_attrs {
            Some(attrs) => attrs.to_der().unwrap(),
            None => self.content.clone(),
        };
        let key = self.signing_key.as_ref().unwrap_or(&signer.key);
        let mut s = openssl::sign::Signer::new(md, key).unwrap();
        s.update(&to_sign).unwrap();
        let mut signature = s.sign_to_vec().unwrap();
        if let Some(tweak) = self.tweak_signature {
            signature = tweak(&signature);
        }
        let null_params = |oid| AlgorithmIdentifierOwned {
            oid,
            parameters: if oid == OID_ECDSA_SHA256 {
                None
            } else {
                Some(Any::null())
            },
        };
        let signer_info = |sig: Vec<u8>| SignerInfo {
            version: if self.sid_by_ski {
                CmsVersion::V3
            } else {
                CmsVersion::V1
            },
            sid: sid.clone(),
            digest_alg: null_params(self.digest_oid),
            signed_attrs: signed_attrs.clone(),
            signature_algorithm: null_params(self.signature_oid),
            signature: OctetString::new(sig).unwrap(),
            unsigned_attrs: None,
        };
        let mut infos = vec![signer_info(signature.clone())];
        if self.second_signer {
            let mut other = signature;
            if let Some(b) = other.last_mut() {
                *b ^= 1;
            }
            infos.push(signer_info(other));
        }
        let embed = self
            .embed
            .clone()
            .unwrap_or_else(|| vec![signer.cert.clone()]);
        let certs: Vec<CertificateChoices> = embed
            .iter()
            .map(|c| {
                CertificateChoices::Certificate(
                    x509_cert::Certificate::from_der(&c.to_der().unwrap()).unwrap(),
                )
            })
            .collect();
        let signed = SignedData {
            version: if self.sid_by_ski {
                CmsVersion::V3
            } else {
                CmsVersion::V1
            },
            digest_algorithms: SetOfVec::try_from(
                self.listed_digests
                    .clone()
                    .unwrap_or_else(|| vec![self.digest_oid])
                    .into_iter()
                    .map(null_params)
                    .collect::<Vec<_>>(),
            )
            .unwrap(),
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_DATA,
                econtent: (!self.detached)
                    .then(|| Any::new(Tag::OctetString, self.content.clone()).unwrap()),
            },
            certificates: (!certs.is_empty())
                .then(|| CertificateSet(SetOfVec::try_from(certs).unwrap())),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(infos).unwrap()),
        };
        let info = ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&signed).unwrap(),
        };
        let mut der = info.to_der().unwrap();
        der.extend_from_slice(&self.trailing);
        der
    }

    fn signed_attributes(&self, md: MessageDigest) -> Option<SetOfVec<Attribute>> {
        let digest_of = |bytes: &[u8]| openssl::hash::hash(md, bytes).unwrap().to_vec();
        let (content_type, digest) = match self.signed_attrs {
            SignedAttrs::None => return None,
            SignedAttrs::Valid => (ID_DATA, Some(digest_of(&self.content))),
            SignedAttrs::WrongContentType => (ID_SIGNED_DATA, Some(digest_of(&self.content))),
            SignedAttrs::WrongDigest => (ID_DATA, Some(digest_of(b"other bytes"))),
            SignedAttrs::MissingDigest => (ID_DATA, None),
        };
        let attr = |oid, value: Any| Attribute {
            oid,
            values: SetOfVec::try_from(vec![value]).unwrap(),
        };
        let mut attrs = vec![attr(
            ID_CONTENT_TYPE,
            Any::encode_from(&content_type).unwrap(),
        )];
        if let Some(d) = digest {
            attrs.push(attr(
                ID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(d).unwrap()).unwrap(),
            ));
        }
        Some(SetOfVec::try_from(attrs).unwrap())
    }
}

/// Compact claims JSON as IMDS writes it (keys in alphabetical order), created at `created`
/// and expiring six hours later.
pub fn claims_json(nonce: &str, created: OffsetDateTime) -> Vec<u8> {
    let stamp = imds_timestamp;
    serde_json::json!({
        "licenseType": "",
        "nonce": nonce,
        "plan": {"name": "", "product": "", "publisher": ""},
        "sku": "22_04-lts-gen2",
        "subscriptionId": "8d10da13-8125-4ba9-a717-bf7490507b3d",
        "timeStamp": {"createdOn": stamp(created), "expiresOn": stamp(created + Duration::hours(6))},
        "vmId": "02aab8a4-74ef-476e-8182-f6d2ba4166a6",
    })
    .to_string()
    .into_bytes()
}

/// IMDS's timestamp format, `MM/DD/YY HH:MM:SS -0000`, in UTC.
pub fn imds_timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:02}/{:02}/{:02} {:02}:{:02}:{:02} -0000",
        u8::from(t.month()),
        t.day(),
        t.year() % 100,
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The IMDS JSON response around a DER document.
pub fn imds_response(der: &[u8]) -> String {
    use base64::Engine as _;
    format!(
        "{{\"encoding\":\"pkcs7\",\"signature\":\"{}\"}}",
        base64::engine::general_purpose::STANDARD.encode(der)
    )
}
