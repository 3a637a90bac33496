//! Insurer names (保険者名称) for results: every result names each qualification's insurer
//! (`InsurerName`). Names are read from the store once, and again when a result needs an insurer
//! the server has not seen (one registered since), so a check does not read the insurers table.
//! A renamed insurer is shown under its new name once the server restarts.

use std::collections::HashMap;
use std::sync::Mutex;

use onshi_domain::InsurerNumber;
use onshi_store::{Store, StoreError};

/// The names known so far, by insurer number.
#[derive(Debug, Default)]
pub struct InsurerNames {
    names: Mutex<HashMap<String, String>>,
}

impl InsurerNames {
    fn known(&self, number: &InsurerNumber) -> Option<String> {
        self.names.lock().ok()?.get(number.as_str()).cloned()
    }

    /// The name of `number`'s insurer ("" if the store has none, which its foreign keys rule out
    /// for any insurer a member belongs to).
    pub async fn name(&self, store: &Store, number: &InsurerNumber) -> Result<String, StoreError> {
        if let Some(name) = self.known(number) {
            return Ok(name);
        }
        let all = store.insurers().await?;
        let found = all
            .iter()
            .find(|i| &i.number == number)
            .map(|i| i.name.clone())
            .unwrap_or_default();
        if let Ok(mut names) = self.names.lock() {
            names.extend(all.into_iter().map(|i| (i.number.to_string(), i.name)));
        }
        Ok(found)
    }
}
