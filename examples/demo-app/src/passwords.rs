//! Login's password check, with argon2, taking the same time for unknown users as for known ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use authtoken::BoxError;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::users;

/// Hashes a password for storage.
pub fn hash(password: &str) -> Result<String, BoxError> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

/// Checks logins against the `users` table.
#[derive(Clone)]
pub struct Passwords {
    db: DatabaseConnection,
    /// An argon2 hash of nothing anyone knows, checked when the username is unknown so that the
    /// answer takes as long as a wrong password for a real user.
    decoy: String,
    /// How many argon2 verifications ran (the tests count them).
    pub verifications: Arc<AtomicU64>,
}

impl Passwords {
    /// Checks against the users in `db`.
    pub fn new(db: DatabaseConnection) -> Result<Self, BoxError> {
        let decoy = hash(&authtoken::PlaintextToken::generate()?.into_secret())?;
        Ok(Self { db, decoy, verifications: Arc::default() })
    }

    /// Runs argon2 on the blocking pool: tens of milliseconds of CPU would otherwise stall every
    /// other request on this runtime worker.
    async fn matches(&self, phc: String, password: &str) -> Result<bool, BoxError> {
        let counter = Arc::clone(&self.verifications);
        let password = password.to_owned();
        Ok(tokio::task::spawn_blocking(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            PasswordHash::new(&phc)
                .map(|parsed| {
                    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
                })
                .unwrap_or(false)
        })
        .await?)
    }
}

impl authtoken_http::Credentials<users::Model> for Passwords {
    async fn verify(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<users::Model>, BoxError> {
        let user = users::Entity::find()
            .filter(users::Column::Username.eq(username))
            .one(&self.db)
            .await?;
        let phc = user.as_ref().map_or(&self.decoy, |u| &u.password_hash).clone();
        let matches = self.matches(phc, password).await?;
        Ok(user.filter(|_| matches))
    }
}
