//! The in-memory backend: `MemoryStore` and `MemoryUsers` from the core crate, and a user type
//! for backends that keep their users in memory.

use std::future::Future;
use std::pin::Pin;

use authtoken::memory::MemoryStore;
pub use authtoken::memory::MemoryUsers;
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

/// A backend whose users live in memory, over any store: the in-memory store by default, or a
/// store of your own whose users are not in a database ([`with_store`](Self::with_store)).
///
/// Deleting a user deletes its tokens through the store, as a SQL cascade would. A store on a
/// server cleans up after the test with [`with_cleanup`](Self::with_cleanup) (its key prefix,
/// its database).
pub struct MemoryBackend<Id: authtoken::UserId, S = MemoryStore<Id>> {
    store: S,
    users: MemoryUsers<MemoryUser<Id>>,
    new_id: fn() -> Id,
    cleanup: Option<Cleanup>,
}

/// What a backend drops at the end of its test.
type Cleanup = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

impl<Id: authtoken::UserId> MemoryBackend<Id> {
    /// An empty in-memory store whose users get ids from `new_id`.
    pub fn new(new_id: fn() -> Id) -> Self {
        Self::with_store(MemoryStore::new(), new_id)
    }
}

impl<Id: authtoken::UserId, S> MemoryBackend<Id, S> {
    /// `store` (fresh for this test), with users in memory whose ids come from `new_id`.
    pub fn with_store(store: S, new_id: fn() -> Id) -> Self {
        Self { store, users: MemoryUsers::new(), new_id, cleanup: None }
    }

    /// Runs `cleanup` when the test ends ([`Backend::cleanup`]): what a store on a server left
    /// behind (the test's key prefix, its database).
    ///
    /// ```
    /// use authtoken_conformance::Backend;
    /// use authtoken_conformance::memory::MemoryBackend;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let backend = MemoryBackend::<u64>::new(|| 1).with_cleanup(|| async { /* drop the database */ });
    /// backend.cleanup().await;
    /// # }
    /// ```
    pub fn with_cleanup<F, Fut>(mut self, cleanup: F) -> Self
    where
        F: FnOnce() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.cleanup = Some(Box::new(move || Box::pin(cleanup())));
        self
    }

    /// The same backend over another handle on its store (a store configured differently
    /// over the same rows); users and cleanup are kept.
    pub fn map_store(self, change: impl FnOnce(S) -> S) -> Self {
        Self { store: change(self.store), ..self }
    }
}

impl<Id, S> Backend for MemoryBackend<Id, S>
where
    Id: authtoken::UserId,
    S: AccessTokenStore<UserId = Id> + Clone + 'static,
{
    type User = MemoryUser<Id>;
    type Store = S;
    type Users = MemoryUsers<MemoryUser<Id>>;

    fn store(&self) -> S {
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
        self.store.delete_all_of_user(&user.id).await.expect("deleting a user's tokens");
        self.users.remove(&user.id);
    }

    fn is_active(user: &MemoryUser<Id>) -> bool {
        user.is_active
    }

    async fn cleanup(self) {
        if let Some(cleanup) = self.cleanup {
            cleanup().await;
        }
    }
}

/// Refresh tokens in memory beside the access tokens: each spec gets its own store.
impl<Id, S> crate::RefreshBackend for MemoryBackend<Id, S>
where
    Id: authtoken::UserId,
    S: AccessTokenStore<UserId = Id> + Clone + 'static,
{
    type Refresh = authtoken::refresh::MemoryRefreshStore<Id>;

    fn refresh_store(&self) -> Self::Refresh {
        authtoken::refresh::MemoryRefreshStore::new()
    }
}
