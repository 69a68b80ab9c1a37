//! Chain building with OpenSSL: from the signer, through untrusted intermediates, to a root of
//! the signer's cloud, at the verification time.

use std::cmp::Ordering;

use const_oid::ObjectIdentifier;
use openssl::error::ErrorStack;
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509NameRef, X509PurposeId, X509Ref, X509StoreContext, X509};
use time::OffsetDateTime;
use x509_cert::der::{Decode, Encode};

use super::{TrustCert, TrustStore};
use crate::cloud::Cloud;
use crate::error::{ChainReason, Error};
use crate::limits::MAX_INTERMEDIATES;
use crate::x509::{format_name, instant};

/// OpenSSL security level 2: RSA and DH keys of 2048 bits or more, no MD5 or SHA-1 signatures
/// (a trust anchor's own self-signature is not checked).
const AUTH_LEVEL: i32 = 2;

// Some X509_V_ERR_* codes differ between OpenSSL versions: openssl-sys has the right ones.
use openssl_sys::{
    X509_V_ERR_CA_KEY_TOO_SMALL as CA_KEY_TOO_SMALL, X509_V_ERR_CA_MD_TOO_WEAK as CA_MD_TOO_WEAK,
    X509_V_ERR_CERT_CHAIN_TOO_LONG as CERT_CHAIN_TOO_LONG,
    X509_V_ERR_CERT_HAS_EXPIRED as CERT_HAS_EXPIRED,
    X509_V_ERR_CERT_NOT_YET_VALID as CERT_NOT_YET_VALID,
    X509_V_ERR_CERT_SIGNATURE_FAILURE as CERT_SIGNATURE_FAILURE,
    X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT as DEPTH_ZERO_SELF_SIGNED_CERT,
    X509_V_ERR_EE_KEY_TOO_SMALL as EE_KEY_TOO_SMALL,
    X509_V_ERR_EXCLUDED_VIOLATION as EXCLUDED_VIOLATION, X509_V_ERR_INVALID_CA as INVALID_CA,
    X509_V_ERR_INVALID_EXTENSION as INVALID_EXTENSION,
    X509_V_ERR_INVALID_POLICY_EXTENSION as INVALID_POLICY_EXTENSION,
    X509_V_ERR_KEYUSAGE_NO_CERTSIGN as KEYUSAGE_NO_CERTSIGN,
    X509_V_ERR_NO_EXPLICIT_POLICY as NO_EXPLICIT_POLICY,
    X509_V_ERR_PATH_LENGTH_EXCEEDED as PATH_LENGTH_EXCEEDED,
    X509_V_ERR_PERMITTED_VIOLATION as PERMITTED_VIOLATION,
    X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN as SELF_SIGNED_CERT_IN_CHAIN,
    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT as UNABLE_TO_GET_ISSUER_CERT,
    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY as UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
    X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE as UNABLE_TO_VERIFY_LEAF_SIGNATURE,
    X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION as UNHANDLED_CRITICAL_EXTENSION,
};

/// A chain OpenSSL built and verified.
pub(crate) struct ChainProof {
    /// Subjects, signer first, trust anchor last.
    pub(crate) subjects: Vec<String>,
    /// The instants at which every certificate of the chain is valid, `valid_until` excluded
    /// (an empty window when a validity could not be read, so that nothing is remembered).
    pub(crate) valid_from: OffsetDateTime,
    pub(crate) valid_until: OffsetDateTime,
    /// The certificate that issued the signer, when the chain has one above the signer.
    pub(crate) issuer: Option<IssuerFacts>,
}

/// What the chain says about the signer's issuer, for remembering it.
pub(crate) struct IssuerFacts {
    /// Its SubjectPublicKeyInfo.
    pub(crate) spki_der: Vec<u8>,
    /// Whether a certificate above the signer constrains names or policies, which would make
    /// the verdict depend on the signer's names or policies.
    pub(crate) constrained: bool,
}

/// Verifies that `signer` chains to a root serving `cloud`, valid at `at`.
pub(crate) fn verify(
    trust: &TrustStore,
    cloud: Cloud,
    signer: &[u8],
    carried: &[Vec<u8>],
    at: OffsetDateTime,
) -> Result<ChainProof, Error> {
    if !trust.certs_for(cloud).any(|c| c.anchor) {
        return Err(Error::NoTrustAnchors { cloud });
    }
    let carried = carried
        .iter()
        .map(|der| X509::from_der(der).map_err(|e| Error::crypto("reading a carried cert", e)))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = X509::from_der(signer).map_err(|e| Error::crypto("reading the signer", e))?;
    let issuers =
        std::iter::once(leaf.issuer_name()).chain(carried.iter().map(|c| c.issuer_name()));
    let candidates = candidates(trust, cloud, issuers);

    let mut store = X509StoreBuilder::new().map_err(|e| Error::crypto("creating a store", e))?;
    for root in candidates
        .iter()
        .filter(|c| c.anchor)
        .filter_map(|c| c.x509())
    {
        store
            .add_cert(root.clone())
            .map_err(|e| Error::crypto("adding a root", e))?;
    }
    let mut param = X509VerifyParam::new().map_err(|e| Error::crypto("creating params", e))?;
    param.set_time(at.unix_timestamp());
    param.set_depth(MAX_INTERMEDIATES);
    param.set_auth_level(AUTH_LEVEL);
    param
        .set_purpose(X509PurposeId::ANY)
        .map_err(|e| Error::crypto("setting the purpose", e))?;
    // Never PARTIAL_CHAIN: an intermediate must not become an anchor.
    param
        .set_flags(X509VerifyFlags::empty())
        .map_err(|e| Error::crypto("setting flags", e))?;
    store
        .set_param(&param)
        .map_err(|e| Error::crypto("setting params", e))?;
    let store = store.build();

    let mut untrusted = Stack::new().map_err(|e| Error::crypto("creating a stack", e))?;
    for cert in candidates
        .iter()
        .filter(|c| !c.anchor)
        .filter_map(|c| c.x509())
    {
        untrusted
            .push(cert.clone())
            .map_err(|e| Error::crypto("stacking an intermediate", e))?;
    }
    for cert in carried {
        untrusted
            .push(cert)
            .map_err(|e| Error::crypto("stacking a carried cert", e))?;
    }

    let mut ctx = X509StoreContext::new().map_err(|e| Error::crypto("creating a context", e))?;
    let outcome = ctx
        .init(&store, &leaf, &untrusted, |ctx| {
            if ctx.verify_cert()? {
                let chain: Vec<Described> = ctx
                    .chain()
                    .map(|c| c.iter().map(describe).collect())
                    .unwrap_or_default();
                Ok(Ok(proof(chain)))
            } else {
                // A failed verification leaves OpenSSL's reasons on this thread's error queue,
                // where the next error anyone reads would pick them up: drop them (the
                // context's error code says what failed).
                drop(ErrorStack::get());
                let cert = ctx.current_cert().map(describe).unwrap_or_default();
                Ok(Err((
                    ctx.error().as_raw(),
                    ctx.error().error_string(),
                    ctx.error_depth(),
                    cert,
                )))
            }
        })
        .map_err(|e| Error::crypto("verifying the chain", e))?;
    outcome.map_err(|(code, reason, depth, cert)| classify(code, reason, depth, cert, cloud, at))
}

/// The certificates of the store serving `cloud` that could stand in a chain above a
/// certificate issued by one of `issuers`, in the store's order: those whose subject is one of
/// those names, those whose subject is the issuer of one of them, and so on. OpenSSL finds an
/// issuer only by looking its name up (`X509_NAME_cmp`, among the store's certificates and the
/// untrusted ones alike), so from these alone it builds the chain it would build from the whole
/// store, and the others need not be decoded. A certificate whose names OpenSSL cannot read or
/// compare is kept: more candidates never change the chain.
fn candidates<'t: 'n, 'n>(
    trust: &'t TrustStore,
    cloud: Cloud,
    issuers: impl Iterator<Item = &'n X509NameRef>,
) -> Vec<&'t TrustCert> {
    let serving: Vec<&TrustCert> = trust.certs_for(cloud).collect();
    let mut chosen = vec![false; serving.len()];
    let mut wanted: Vec<&'n X509NameRef> = issuers.collect();
    let mut next = 0;
    while let Some(name) = wanted.get(next).copied() {
        next += 1;
        for (cert, chosen) in serving.iter().zip(chosen.iter_mut()) {
            if *chosen {
                continue;
            }
            match cert.names() {
                Some((subject, issuer)) => {
                    if subject.try_cmp(name).map_or(true, |o| o == Ordering::Equal) {
                        *chosen = true;
                        wanted.push(issuer);
                    }
                }
                None => *chosen = true,
            }
        }
    }
    serving
        .into_iter()
        .zip(chosen)
        .filter_map(|(cert, chosen)| chosen.then_some(cert))
        .collect()
}

fn proof(chain: Vec<Described>) -> ChainProof {
    let bounds = chain
        .iter()
        .map(|d| d.not_before.zip(d.not_after))
        .collect::<Option<Vec<_>>>();
    let (valid_from, valid_until) = match bounds {
        Some(b) if !b.is_empty() => (
            b.iter()
                .map(|(from, _)| *from)
                .max()
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            b.iter()
                .map(|(_, until)| *until)
                .min()
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        ),
        // Unknown validity: an empty window, so the proof is used once and not remembered.
        _ => (
            OffsetDateTime::UNIX_EPOCH + time::Duration::SECOND,
            OffsetDateTime::UNIX_EPOCH,
        ),
    };
    let issuer = chain.get(1).and_then(|issuer| {
        Some(IssuerFacts {
            spki_der: issuer.spki_der.clone()?,
            constrained: chain.iter().skip(1).any(|d| d.constrains),
        })
    });
    ChainProof {
        subjects: chain.into_iter().map(|d| d.subject).collect(),
        valid_from,
        valid_until,
        issuer,
    }
}

fn classify(
    code: i32,
    reason: &str,
    depth: u32,
    cert: Described,
    cloud: Cloud,
    at: OffsetDateTime,
) -> Error {
    match code {
        UNABLE_TO_GET_ISSUER_CERT
        | UNABLE_TO_GET_ISSUER_CERT_LOCALLY
        | UNABLE_TO_VERIFY_LEAF_SIGNATURE => Error::UntrustedIssuer {
            subject: cert.subject,
            issuer: cert.issuer,
            cloud,
            self_signed: false,
        },
        DEPTH_ZERO_SELF_SIGNED_CERT | SELF_SIGNED_CERT_IN_CHAIN => Error::UntrustedIssuer {
            subject: cert.subject,
            issuer: cert.issuer,
            cloud,
            self_signed: true,
        },
        CERT_HAS_EXPIRED => match cert.not_after {
            Some(not_after) => Error::CertificateExpired {
                subject: cert.subject,
                not_after,
                at,
            },
            None => chain_error(code, reason, depth, cert),
        },
        CERT_NOT_YET_VALID => match cert.not_before {
            Some(not_before) => Error::CertificateNotYetValid {
                subject: cert.subject,
                not_before,
                at,
            },
            None => chain_error(code, reason, depth, cert),
        },
        _ => chain_error(code, reason, depth, cert),
    }
}

fn chain_error(code: i32, reason: &str, depth: u32, cert: Described) -> Error {
    let reason = match code {
        INVALID_CA => ChainReason::NotCa,
        PATH_LENGTH_EXCEEDED => ChainReason::PathLength,
        CA_KEY_TOO_SMALL | EE_KEY_TOO_SMALL => ChainReason::WeakKey,
        CA_MD_TOO_WEAK => ChainReason::WeakSignatureAlgorithm,
        CERT_SIGNATURE_FAILURE => ChainReason::BadSignature,
        CERT_CHAIN_TOO_LONG => ChainReason::TooLong,
        UNHANDLED_CRITICAL_EXTENSION => ChainReason::UnhandledCriticalExtension,
        KEYUSAGE_NO_CERTSIGN => ChainReason::KeyUsage,
        INVALID_EXTENSION | INVALID_POLICY_EXTENSION => ChainReason::InvalidExtension,
        PERMITTED_VIOLATION | EXCLUDED_VIOLATION => ChainReason::NameConstraints,
        NO_EXPLICIT_POLICY => ChainReason::Policy,
        _ => ChainReason::Other {
            message: reason.to_owned(),
        },
    };
    Error::Chain {
        subject: cert.subject,
        depth,
        reason,
    }
}

#[derive(Default)]
struct Described {
    subject: String,
    issuer: String,
    not_before: Option<OffsetDateTime>,
    not_after: Option<OffsetDateTime>,
    spki_der: Option<Vec<u8>>,
    /// Name constraints, policy constraints, policy mappings or inhibitAnyPolicy.
    constrains: bool,
}

/// Extensions by which a CA constrains what it issues by name or policy.
const CONSTRAINING: [ObjectIdentifier; 4] = [
    ObjectIdentifier::new_unwrap("2.5.29.30"), // nameConstraints
    ObjectIdentifier::new_unwrap("2.5.29.33"), // policyMappings
    ObjectIdentifier::new_unwrap("2.5.29.36"), // policyConstraints
    ObjectIdentifier::new_unwrap("2.5.29.54"), // inhibitAnyPolicy
];

/// Names and validity of a certificate OpenSSL pointed at, formatted like every other name.
fn describe(cert: &X509Ref) -> Described {
    let parsed = cert
        .to_der()
        .ok()
        .and_then(|der| x509_cert::Certificate::from_der(&der).ok());
    let Some(parsed) = parsed else {
        return Described {
            subject: "(unreadable certificate)".into(),
            ..Described::default()
        };
    };
    let tbs = parsed.tbs_certificate;
    Described {
        subject: format_name(&tbs.subject),
        issuer: format_name(&tbs.issuer),
        not_before: instant(tbs.validity.not_before),
        not_after: instant(tbs.validity.not_after),
        spki_der: tbs.subject_public_key_info.to_der().ok(),
        constrains: tbs
            .extensions
            .iter()
            .flatten()
            .any(|ext| CONSTRAINING.contains(&ext.extn_id)),
    }
}
