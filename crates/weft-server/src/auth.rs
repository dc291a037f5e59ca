//! Access tokens: HS256 JWTs, signed with the secret the server is started
//! with (`--auth-secret-file`), that grant one role in a room or in every
//! room under a prefix until they expire. An app's backend mints them with
//! any JWT library; `weft-server token` mints one for development.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Fewest bytes of secret: HS256 is only as strong as a 256-bit key.
pub const MIN_SECRET_BYTES: usize = 32;

/// Seconds a token may be past its expiry (clocks of the app's backend and
/// of the server differ a little).
const LEEWAY_SECS: u64 = 30;

/// What a token lets its holder do in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Receive the document and presence; any change sent is refused.
    Read,
    /// Read and change the document.
    Write,
}

impl Role {
    /// The role's name in tokens and in signaling messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
        }
    }
}

/// The claims of a Weft token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The room, or a prefix ending in `*` (`"team-7/*"`: every room whose
    /// name starts with `team-7/`; `"*"`: every room).
    pub room: String,
    /// The role granted.
    pub role: Role,
    /// Expiry, in seconds since the Unix epoch.
    pub exp: u64,
    /// Who holds it (the app's user id), if the app says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

impl Claims {
    /// Whether these claims name `room`.
    pub fn covers(&self, room: &str) -> bool {
        match self.room.strip_suffix('*') {
            Some(prefix) => room.starts_with(prefix),
            None => self.room == room,
        }
    }
}

/// Why a join was refused; each has a stable code clients match on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// The server requires tokens and the join has none.
    Missing,
    /// Not a token signed with the server's secret, or its claims are not
    /// Weft's (a forged, truncated or foreign token).
    Invalid(String),
    /// Past its expiry.
    Expired,
    /// Valid, but for other rooms.
    WrongRoom {
        /// What the token names.
        granted: String,
    },
}

impl AuthError {
    /// The stable code (sent in `error` messages and close reasons).
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "token-missing",
            AuthError::Invalid(_) => "token-invalid",
            AuthError::Expired => "token-expired",
            AuthError::WrongRoom { .. } => "token-wrong-room",
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Missing => write!(f, "this server needs an access token to join a room"),
            AuthError::Invalid(why) => write!(f, "the access token is invalid: {why}"),
            AuthError::Expired => write!(f, "the access token has expired"),
            AuthError::WrongRoom { granted } => {
                write!(f, "the access token is for room {granted:?}, not this one")
            }
        }
    }
}

/// Why the secret could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The file could not be read.
    #[error("cannot read the auth secret file {path}: {source}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Too short to be safe.
    #[error("the auth secret in {path} has {len} bytes; HS256 needs at least {MIN_SECRET_BYTES} (for example: head -c 32 /dev/urandom | base64 > secret)")]
    TooShort {
        /// The file.
        path: std::path::PathBuf,
        /// Its length after trimming.
        len: usize,
    },
}

/// The server's secret: checks tokens, and mints them.
#[derive(Clone)]
pub struct Auth {
    decoding: DecodingKey,
    encoding: EncodingKey,
    validation: Validation,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Auth { .. }") // never the secret
    }
}

impl Auth {
    /// Reads the secret from `path`: its bytes, without the whitespace
    /// around them (a trailing newline), at least [`MIN_SECRET_BYTES`].
    ///
    /// # Errors
    /// [`SecretError`] when the file cannot be read or is too short.
    pub fn from_file(path: &Path) -> Result<Auth, SecretError> {
        let bytes = std::fs::read(path).map_err(|source| SecretError::Read {
            path: path.to_owned(),
            source,
        })?;
        let secret = bytes.trim_ascii();
        if secret.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort {
                path: path.to_owned(),
                len: secret.len(),
            });
        }
        Ok(Auth::new(secret))
    }

    /// A secret of at least one byte (callers check the length).
    fn new(secret: &[u8]) -> Auth {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp"]);
        validation.leeway = LEEWAY_SECS;
        Auth {
            decoding: DecodingKey::from_secret(secret).expect("a secret of at least one byte"),
            encoding: EncodingKey::from_secret(secret).expect("a secret of at least one byte"),
            validation,
        }
    }

    /// The role `token` grants in `room`.
    ///
    /// # Errors
    /// An [`AuthError`] saying why it grants none.
    pub fn check(&self, token: Option<&str>, room: &str) -> Result<Role, AuthError> {
        let token = token.ok_or(AuthError::Missing)?;
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::InvalidSignature => {
                    AuthError::Invalid("not signed with this server's secret".into())
                }
                ErrorKind::InvalidAlgorithm => AuthError::Invalid("not signed with HS256".into()),
                _ => AuthError::Invalid(e.to_string()),
            })?
            .claims;
        if !claims.covers(room) {
            return Err(AuthError::WrongRoom {
                granted: claims.room,
            });
        }
        Ok(claims.role)
    }

    /// A token granting `role` in `room` (a name, or a prefix ending in
    /// `*`) for `ttl` from now.
    pub fn mint(&self, room: &str, role: Role, ttl: Duration) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let claims = Claims {
            room: room.to_owned(),
            role,
            exp: now.saturating_add(ttl).as_secs(),
            sub: None,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 claims always encode")
    }
}

/// Parses a lifetime: a whole number with a unit, `s`, `m`, `h` or `d`
/// (`90s`, `15m`, `1h`, `7d`), at most 366 days.
///
/// # Errors
/// What is wrong with it.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let unit_at = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} needs a unit: s, m, h or d (as in 1h)"))?;
    let (number, unit) = text.split_at(unit_at);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a whole number"))?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        other => return Err(format!("unknown unit {other:?}: use s, m, h or d")),
    };
    let secs = n
        .checked_mul(scale)
        .filter(|s| (1..=366 * 86_400).contains(s))
        .ok_or_else(|| format!("{text:?} is not between 1 second and 366 days"))?;
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Auth {
        Auth::new(b"0123456789abcdef0123456789abcdef")
    }

    fn claims(room: &str, role: Role, exp: u64) -> String {
        let c = Claims {
            room: room.into(),
            role,
            exp,
            sub: Some("ada".into()),
        };
        let key = EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef").unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &c, &key).unwrap()
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn tokens_grant_their_role_in_their_rooms_only() {
        let a = auth();
        let write = a.mint("notes", Role::Write, Duration::from_secs(60));
        assert_eq!(a.check(Some(&write), "notes"), Ok(Role::Write));
        let err = a.check(Some(&write), "notes2").unwrap_err();
        assert_eq!(err.code(), "token-wrong-room");
        let prefix = a.mint("team/*", Role::Read, Duration::from_secs(60));
        assert_eq!(a.check(Some(&prefix), "team/plan"), Ok(Role::Read));
        assert_eq!(a.check(Some(&prefix), "team/"), Ok(Role::Read));
        assert!(a.check(Some(&prefix), "teams").is_err());
        let all = claims("*", Role::Read, now() + 60);
        assert_eq!(a.check(Some(&all), "anything"), Ok(Role::Read));
    }

    #[test]
    fn missing_expired_forged_and_foreign_tokens_are_refused() {
        let a = auth();
        assert_eq!(a.check(None, "r"), Err(AuthError::Missing));
        let expired = claims("r", Role::Write, now() - LEEWAY_SECS - 5);
        assert_eq!(a.check(Some(&expired), "r"), Err(AuthError::Expired));
        // Within the leeway it is still good.
        let just = claims("r", Role::Write, now() - 1);
        assert_eq!(a.check(Some(&just), "r"), Ok(Role::Write));
        let other = Auth::new(b"another secret of at least 32 bytes!");
        let forged = other.mint("r", Role::Write, Duration::from_secs(60));
        assert_eq!(
            a.check(Some(&forged), "r").unwrap_err().code(),
            "token-invalid"
        );
        for junk in ["", "x", "a.b.c", &forged[..forged.len() - 3]] {
            assert_eq!(
                a.check(Some(junk), "r").unwrap_err().code(),
                "token-invalid"
            );
        }
        // Signed with the secret, but not a Weft token: no room, or no expiry.
        let key = EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef").unwrap();
        let header = Header::new(Algorithm::HS256);
        let no_room = serde_json::json!({ "role": "write", "exp": now() + 60 });
        let no_exp = serde_json::json!({ "room": "r", "role": "write" });
        let bad_role = serde_json::json!({ "room": "r", "role": "admin", "exp": now() + 60 });
        for c in [no_room, no_exp, bad_role] {
            let t = jsonwebtoken::encode(&header, &c, &key).unwrap();
            assert_eq!(a.check(Some(&t), "r").unwrap_err().code(), "token-invalid");
        }
        // Another algorithm, even with the same secret.
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &serde_json::json!({ "room": "r", "role": "write", "exp": now() + 60 }),
            &key,
        )
        .unwrap();
        assert_eq!(
            a.check(Some(&hs512), "r").unwrap_err().code(),
            "token-invalid"
        );
    }

    #[test]
    fn secrets_are_read_trimmed_and_must_be_long_enough() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "short\n").unwrap();
        assert!(matches!(
            Auth::from_file(&path),
            Err(SecretError::TooShort { len: 5, .. })
        ));
        std::fs::write(&path, "0123456789abcdef0123456789abcdef\n").unwrap();
        let from_file = Auth::from_file(&path).unwrap();
        let token = auth().mint("r", Role::Read, Duration::from_secs(5));
        assert_eq!(from_file.check(Some(&token), "r"), Ok(Role::Read));
        let missing = dir.path().join("none");
        assert!(matches!(
            Auth::from_file(&missing),
            Err(SecretError::Read { .. })
        ));
    }

    #[test]
    fn lifetimes_parse_with_their_unit_and_stay_in_range() {
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(7 * 86_400)));
        for bad in [
            "",
            "1",
            "h",
            "0s",
            "1w",
            "367d",
            "99999999999999999999d",
            "-1h",
        ] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }
}
