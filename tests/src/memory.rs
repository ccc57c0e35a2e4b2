//! The in-memory backend: `MemoryStore` and `MemoryUsers` from the core crate.

use authtoken::memory::{MemoryStore, MemoryUsers};
use authtoken::{AccessTokenStore, User};

use crate::Backend;

/// A user of the in-memory backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryUser<Id> {
    /// The user's id.
    pub id: Id,
    /// Whether the user may log in, as the application sees it.
    pub is_active: bool,
}

impl<Id: authtoken::UserId> User for MemoryUser<Id> {
    type Id = Id;

    fn id(&self) -> &Id {
        &self.id
    }
}

/// Fresh in-memory rows and users, with ids from `new_id`.
pub struct MemoryBackend<Id: authtoken::UserId> {
    store: MemoryStore<Id>,
    users: MemoryUsers<MemoryUser<Id>>,
    new_id: fn() -> Id,
}

impl<Id: authtoken::UserId> MemoryBackend<Id> {
    /// An empty backend whose users get ids from `new_id`.
    pub fn new(new_id: fn() -> Id) -> Self {
        Self { store: MemoryStore::new(), users: MemoryUsers::new(), new_id }
    }
}

impl<Id: authtoken::UserId> Backend for MemoryBackend<Id> {
    type User = MemoryUser<Id>;
    type Store = MemoryStore<Id>;
    type Users = MemoryUsers<MemoryUser<Id>>;

    fn store(&self) -> MemoryStore<Id> {
        self.store.clone()
    }

    fn users(&self) -> &Self::Users {
        &self.users
    }

    async fn create_user(&self, active: bool) -> MemoryUser<Id> {
        let user = MemoryUser { id: (self.new_id)(), is_active: active };
        self.users.insert(user.clone());
        user
    }

    async fn delete_user(&self, user: &MemoryUser<Id>) {
        // Like the SQL backends' cascade: a deleted user's tokens go with it.
        self.store.delete_all_of_user(&user.id).await.expect("in-memory delete");
        self.users.remove(&user.id);
    }

    fn is_active(user: &MemoryUser<Id>) -> bool {
        user.is_active
    }
}
