//! The one table from which every face's error kinds are generated.
//!
//! Each crate of the workspace (the library, the stores, the command line, the HTTP service)
//! names its failures with a `#[non_exhaustive]` kind enum whose snake_case wire names are the
//! contract of every face: the CLI's JSON, the service's answers, the Python exceptions'
//! `.kind`. Writing the variant and its wire name once, in one table, is what keeps the enum,
//! its list of every kind, its names and its parsing from drifting apart.

/// Defines a kind enum from one table of `Variant = "wire_name"` rows: the enum (`Debug`,
/// `Clone`, `Copy`, `Eq`, `Hash`, `Ord`, `#[non_exhaustive]`), `ALL` (every kind, in the
/// table's order), `as_str` (the wire name), `Display` (the same), `FromStr` (its inverse) and
/// `serde::Serialize` (as the wire name).
///
/// ```
/// imds_attest::error_kinds! {
///     /// What went wrong with a widget.
///     pub enum WidgetKind {
///         /// It broke.
///         Broken = "broken",
///         /// It was never there.
///         Missing = "missing",
///     }
/// }
/// assert_eq!(WidgetKind::ALL, [WidgetKind::Broken, WidgetKind::Missing]);
/// assert_eq!(WidgetKind::Missing.as_str(), "missing");
/// assert_eq!("broken".parse::<WidgetKind>(), Ok(WidgetKind::Broken));
/// assert!("gone".parse::<WidgetKind>().is_err());
/// ```
#[macro_export]
macro_rules! error_kinds {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every kind, in the order of its table.
            pub const ALL: [$name; [$($wire),+].len()] = [ $( $name::$variant, )+ ];

            /// The stable snake_case name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $wire, )+
                }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::core::str::FromStr for $name {
            type Err = ::std::string::String;

            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                match s {
                    $( $wire => Ok($name::$variant), )+
                    _ => Err(::std::format!("unknown error kind {s:?}")),
                }
            }
        }

        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::error_kinds! {
        /// A table for the tests.
        enum Sample {
            /// First.
            First = "first",
            /// Second.
            Second = "second_one",
        }
    }

    #[test]
    fn names_round_trip_in_table_order() {
        assert_eq!(Sample::ALL, [Sample::First, Sample::Second]);
        for kind in Sample::ALL {
            assert_eq!(kind.as_str().parse::<Sample>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!(
            "second".parse::<Sample>(),
            Err("unknown error kind \"second\"".to_owned())
        );
        assert_eq!(
            serde_json::to_string(&Sample::Second).ok().as_deref(),
            Some("\"second_one\"")
        );
    }
}
