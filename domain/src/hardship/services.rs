//! Facts a hardship file needs from outside itself.
//!
//! Only one: whether the head's resident ID already heads another open file
//! ("一户一档案"). The answer lets the command be refused with a clear
//! message; the store's `open_file_by_resident` reservation (taken by
//! `FileOpened`/`FileReopened`) is what makes the rule race-free.

use crate::services::ServiceError;
use crate::values::ResidentId;

/// Lookups across hardship files, implemented by the `bangfu` crate.
#[async_trait::async_trait]
pub trait HardshipFileServices: Send + Sync {
    /// The id of the open file headed by `resident_id`, if any.
    async fn open_file_for_resident(
        &self,
        resident_id: &ResidentId,
    ) -> Result<Option<String>, ServiceError>;
}
