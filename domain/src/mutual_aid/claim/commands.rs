//! What can be asked of a mutual-aid claim.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::mutual_aid::policy::RejectReason;
use crate::values::{BankCard, Code, Fen, OrgName, PersonName, ResidentId, ShortText};

/// Most documents (invoices, discharge summary, insurance statement…) one claim lists.
pub const MAX_DOCUMENTS: usize = 30;

/// Most appeals against rejection one claim may make.
pub const MAX_APPEALS: u32 = 2;

/// Commands of [`super::MutualAidClaim`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub enum MutualAidClaimCommand {
    /// Submits a claim for one hospital stay. Only on a new aggregate.
    Submit {
        /// This claim's id: the aggregate id the command is sent to. Needed
        /// so the claim can leave itself out of "the member's other claims".
        claim_id: Code,
        /// The plan period the member is enrolled in.
        plan_id: Code,
        /// The hospitalised member.
        member: ResidentId,
        /// The member's name.
        member_name: PersonName,
        /// Hospital.
        hospital: OrgName,
        /// Admission date; must lie within the period for a subsidy.
        #[serde(deserialize_with = "crate::values::plausible_date")]
        admitted_on: NaiveDate,
        /// Discharge date, not before admission.
        #[serde(deserialize_with = "crate::values::plausible_date")]
        discharged_on: NaiveDate,
        /// Diagnosis (health data: shown only to roles that need it).
        diagnosis: ShortText,
        /// Total medical cost of the stay.
        #[serde(deserialize_with = "crate::values::amount")]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
        total_cost_fen: Fen,
        /// Paid by basic medical insurance.
        #[serde(deserialize_with = "crate::values::amount")]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
        basic_insurance_fen: Fen,
        /// Other reimbursements.
        #[serde(deserialize_with = "crate::values::amount")]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
        other_reimbursement_fen: Fen,
        /// Documents handed in, at most [`MAX_DOCUMENTS`].
        documents: Vec<ShortText>,
    },
    /// Records the review of the documents.
    ReviewDocuments {
        /// All required documents are present and consistent.
        complete: bool,
        /// Reviewer's note.
        note: ShortText,
    },
    /// Assesses the subsidy by the period's policy.
    Assess {},
    /// Approves the assessed subsidy (not by the assessor).
    Approve {},
    /// Rejects the claim before approval.
    Reject {
        /// Why.
        reason: RejectReason,
        /// Details.
        note: ShortText,
    },
    /// Appeals a rejection; the claim is reviewed and assessed again.
    Appeal {
        /// Grounds of the appeal.
        grounds: ShortText,
    },
    /// Records that the approved subsidy was paid.
    MarkPaid {
        /// Date of payment.
        #[serde(deserialize_with = "crate::values::plausible_date")]
        paid_on: NaiveDate,
        /// Bank or voucher reference.
        reference: Code,
        /// Card paid to, when paid by transfer.
        card: Option<BankCard>,
    },
}
