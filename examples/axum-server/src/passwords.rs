//! Login's password check, with argon2, taking the same time for unknown users as for known ones.

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
pub struct Passwords {
    db: DatabaseConnection,
    /// An argon2 hash of nothing anyone knows, checked when the username is unknown so that the
    /// answer takes as long as a wrong password for a real user.
    decoy: String,
    /// How many argon2 verifications ran (the tests count them).
    pub verifications: AtomicU64,
}

impl Passwords {
    /// Checks against the users in `db`.
    pub fn new(db: DatabaseConnection) -> Result<Self, BoxError> {
        let decoy = hash(&authtoken::PlaintextToken::generate()?.into_secret())?;
        Ok(Self { db, decoy, verifications: AtomicU64::new(0) })
    }

    fn matches(&self, phc: &str, password: &str) -> bool {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        PasswordHash::new(phc)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    }
}

impl authtoken_axum::Credentials<users::Model> for Passwords {
    async fn verify(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<users::Model>, BoxError> {
        let user = users::Entity::find()
            .filter(users::Column::Username.eq(username))
            .one(&self.db)
            .await?;
        let phc = user.as_ref().map_or(self.decoy.as_str(), |u| u.password_hash.as_str());
        let matches = self.matches(phc, password);
        Ok(user.filter(|_| matches))
    }
}
