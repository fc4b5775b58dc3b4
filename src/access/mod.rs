//! Who may act: the API's users with their roles and token hashes
//! ([`users`]) and the permission matrix every interface checks
//! ([`permissions`]). Below the interfaces (CLI, HTTP), above the store.

pub mod permissions;
pub mod users;
