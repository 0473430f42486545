//! Payment providers: each verifies the notifications it sends and turns them into a
//! [`PaymentNotification`] for the store to apply. The [`Sandbox`] is the demo's provider,
//! labelled as one wherever it appears; its notifications go through the same check and the
//! same application as a real provider's would.

use crate::sign::{constant_eq, hmac_sha256};
use bazaar_domain::orders::{PaymentMethod, PaymentNotification};

/// Why a notification was refused; nothing of it is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not signed by the provider.
    BadSignature,
    /// Signed, but not a notification.
    Malformed,
}

/// A payment provider that notifies asynchronously.
pub trait PaymentProvider: Send + Sync {
    /// The method it serves.
    fn method(&self) -> PaymentMethod;
    /// Verifies a notification's signature and parses it.
    fn verify(&self, body: &[u8], signature: &str) -> Result<PaymentNotification, Refusal>;
}

/// The sandbox provider: hex HMAC-SHA256 over the JSON body with a secret kept in the
/// database (`Store::sandbox_secret`: made once per database, so every node shares it).
#[derive(Clone)]
pub struct Sandbox {
    secret: Vec<u8>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sandbox { secret: *** }")
    }
}

impl Sandbox {
    /// The sandbox with this secret.
    pub fn new(secret: Vec<u8>) -> Sandbox {
        Sandbox { secret }
    }

    /// Signs a notification body as the sandbox does.
    pub fn sign(&self, body: &[u8]) -> String {
        hex::encode(hmac_sha256(&self.secret, body))
    }
}

impl PaymentProvider for Sandbox {
    fn method(&self) -> PaymentMethod {
        PaymentMethod::Sandbox
    }

    fn verify(&self, body: &[u8], signature: &str) -> Result<PaymentNotification, Refusal> {
        let expected = self.sign(body);
        if !constant_eq(expected.as_bytes(), signature.trim().as_bytes()) {
            return Err(Refusal::BadSignature);
        }
        serde_json::from_slice(body).map_err(|_| Refusal::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_refuses_bad_signatures() {
        let s = Sandbox::new(b"k".to_vec());
        let body = br#"{"id":"n1","provider_ref":"r","amount_fen":100,"outcome":"succeeded"}"#;
        let sig = s.sign(body);
        assert_eq!(s.verify(body, &sig).map(|n| n.amount_fen), Ok(100));
        assert_eq!(s.verify(body, "00"), Err(Refusal::BadSignature));
        let mut tampered = body.to_vec();
        tampered[40] = b'9';
        assert_eq!(s.verify(&tampered, &sig), Err(Refusal::BadSignature));
        let junk = b"not json";
        assert_eq!(s.verify(junk, &s.sign(junk)), Err(Refusal::Malformed));
        assert!(!format!("{s:?}").contains('k'));
    }
}
