//! Azure clouds and the signer names that belong to them.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// An Azure cloud, identified by the DNS domain its IMDS signer certificates are named under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Cloud {
    /// Azure public cloud: `metadata.azure.com`.
    Public,
    /// Azure US Government: `metadata.azure.us`.
    UsGov,
    /// Azure China (21Vianet): `metadata.azure.cn`.
    China,
    /// Azure Germany (retired 2021): `metadata.microsoftazure.de`.
    Germany,
}

impl Cloud {
    /// Every cloud, in a fixed order.
    pub const ALL: [Cloud; 4] = [Cloud::Public, Cloud::UsGov, Cloud::China, Cloud::Germany];

    /// The DNS domain the cloud's signer names must equal or be a subdomain of.
    pub fn domain(self) -> &'static str {
        match self {
            Cloud::Public => "metadata.azure.com",
            Cloud::UsGov => "metadata.azure.us",
            Cloud::China => "metadata.azure.cn",
            Cloud::Germany => "metadata.microsoftazure.de",
        }
    }

    /// A slice holding this cloud alone, for what serves one cloud.
    pub(crate) fn only(self) -> &'static [Cloud] {
        match self {
            Cloud::Public => &[Cloud::Public],
            Cloud::UsGov => &[Cloud::UsGov],
            Cloud::China => &[Cloud::China],
            Cloud::Germany => &[Cloud::Germany],
        }
    }

    /// The short name used on the command line and in output (`public`, `usgov`…).
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Public => "public",
            Cloud::UsGov => "usgov",
            Cloud::China => "china",
            Cloud::Germany => "germany",
        }
    }

    /// Whether `dns_name` is this cloud's domain or a subdomain of it, compared
    /// case-insensitively and only at a label boundary.
    ///
    /// ```
    /// use imds_attest::Cloud;
    /// assert!(Cloud::Public.matches("eastus.metadata.azure.com"));
    /// assert!(Cloud::Public.matches("METADATA.azure.com"));
    /// assert!(!Cloud::Public.matches("evilmetadata.azure.com"));
    /// assert!(!Cloud::Public.matches("metadata.azure.com.evil.example"));
    /// ```
    pub fn matches(self, dns_name: &str) -> bool {
        self.labels_below_domain(dns_name).is_some()
    }

    /// The labels of `dns_name` below this cloud's domain, split at a label boundary and
    /// compared case-insensitively: `Some("")` for the domain itself, `Some("eastus")` for
    /// `eastus.metadata.azure.com`, `Some("a.b")` for `a.b.metadata.azure.com`; `None` for a
    /// name that is neither the domain nor under it. The one place that decides where a
    /// signer name's cloud domain begins, for its cloud and for its region alike.
    pub(crate) fn labels_below_domain(self, dns_name: &str) -> Option<&str> {
        let domain = self.domain();
        let split = dns_name.len().checked_sub(domain.len())?;
        // `get` is None off a character boundary, where an ASCII domain cannot begin anyway.
        let suffix = dns_name.get(split..)?;
        if !suffix.eq_ignore_ascii_case(domain) {
            return None;
        }
        match dns_name.get(..split)? {
            "" => Some(""),
            // A label boundary, and at least one character before it.
            prefix => prefix.strip_suffix('.').filter(|labels| !labels.is_empty()),
        }
    }

    /// The cloud, among `allowed`, that `dns_name` belongs to.
    pub fn of_name(dns_name: &str, allowed: &[Cloud]) -> Option<Cloud> {
        allowed.iter().copied().find(|c| c.matches(dns_name))
    }

    /// The one cloud a signer's DNS names belong to, decided over every cloud, then checked
    /// against `allowed`. A signer naming two clouds is refused whatever is allowed: it would
    /// otherwise pick its own trust anchors. The error is the clouds to report: those the
    /// names belong to when they are several, else the allowed ones.
    pub(crate) fn of_signer(dns_names: &[String], allowed: &[Cloud]) -> Result<Cloud, Vec<Cloud>> {
        let mut clouds: Vec<Cloud> = dns_names
            .iter()
            .filter_map(|name| Cloud::of_name(name, &Cloud::ALL))
            .collect();
        clouds.sort();
        clouds.dedup();
        match clouds.as_slice() {
            [one] if allowed.contains(one) => Ok(*one),
            [_] | [] => Err(allowed.to_vec()),
            _ => Err(clouds),
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Cloud {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cloud::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown cloud {s:?}; expected public, usgov, china or germany"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_domain_and_subdomains_at_label_boundary_only() {
        let cases: &[(&str, Cloud, bool)] = &[
            ("metadata.azure.com", Cloud::Public, true),
            ("eastus.metadata.azure.com", Cloud::Public, true),
            ("a.b.metadata.azure.com", Cloud::Public, true),
            ("MetaData.Azure.COM", Cloud::Public, true),
            ("evilmetadata.azure.com", Cloud::Public, false),
            ("metadata.azure.com.evil.example", Cloud::Public, false),
            (".metadata.azure.com", Cloud::Public, false),
            ("metadata.azure.co", Cloud::Public, false),
            ("azure.com", Cloud::Public, false),
            ("", Cloud::Public, false),
            ("metadata.azure.com", Cloud::UsGov, false),
            ("usgovvirginia.metadata.azure.us", Cloud::UsGov, true),
            ("chinaeast.metadata.azure.cn", Cloud::China, true),
            ("metadata.microsoftazure.de", Cloud::Germany, true),
            ("metadata.azure.de", Cloud::Germany, false),
        ];
        for (name, cloud, want) in cases {
            assert_eq!(cloud.matches(name), *want, "{name} vs {cloud}");
        }
    }

    #[test]
    fn splits_names_below_the_domain_at_a_label_boundary_only() {
        let cases: &[(&str, Option<&str>)] = &[
            ("metadata.azure.com", Some("")),
            ("eastus.metadata.azure.com", Some("eastus")),
            ("a.b.METADATA.azure.com", Some("a.b")),
            ("evilmetadata.azure.com", None),
            (".metadata.azure.com", None),
            ("..metadata.azure.com", Some(".")),
            ("metadata.azure.com.evil.example", None),
            ("azure.com", None),
            ("\u{e9}metadata.azure.com", None),
            ("\u{e9}.metadata.azure.com", Some("\u{e9}")),
        ];
        for (name, want) in cases {
            assert_eq!(Cloud::Public.labels_below_domain(name), *want, "{name}");
        }
    }

    #[test]
    fn decides_the_cloud_over_all_clouds_before_the_allowed_list() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let both = names(&["metadata.azure.com", "metadata.azure.us"]);
        for allowed in [&Cloud::ALL[..], &[Cloud::UsGov], &[Cloud::Public]] {
            assert_eq!(
                Cloud::of_signer(&both, allowed),
                Err(vec![Cloud::Public, Cloud::UsGov]),
                "{allowed:?}"
            );
        }
        let us = names(&["usgovvirginia.metadata.azure.us", "metadata.azure.us"]);
        assert_eq!(Cloud::of_signer(&us, &Cloud::ALL), Ok(Cloud::UsGov));
        assert_eq!(
            Cloud::of_signer(&us, &[Cloud::Public]),
            Err(vec![Cloud::Public])
        );
    }

    #[test]
    fn parses_cloud_names_and_rejects_others() {
        assert_eq!("usgov".parse::<Cloud>(), Ok(Cloud::UsGov));
        assert_eq!("China".parse::<Cloud>(), Ok(Cloud::China));
        assert!(matches!("azure".parse::<Cloud>(), Err(e) if e.contains("unknown cloud")));
    }
}
