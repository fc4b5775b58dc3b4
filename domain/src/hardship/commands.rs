//! What a caseworker, approver or finance officer can ask of a hardship file,
//! and the household and plan data those requests carry.
//!
//! Commands carry parsed values only (names, IDs, amounts in fen, dates), so
//! a malformed ID or a negative amount never reaches the aggregate; the
//! aggregate checks the business rules that need the file's history.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::fund::Fund;
use crate::i18n::Lang;
use crate::values::{
    BankCard, Code, Fen, LongText, MobileNumber, OrgName, PersonName, ResidentId, ShortText,
};

/// Most members one household may list besides its head.
pub const MAX_MEMBERS: usize = 20;
/// Most home visits one file may record.
pub const MAX_VISITS: usize = 500;
/// Most caseworkers named on one visit (at least one).
pub const MAX_CASEWORKERS: usize = 5;
/// Most measures in one plan (at least one).
pub const MAX_MEASURES: usize = 20;
/// Most revisions of one file's plan (adoption is revision 1).
pub const MAX_PLAN_REVISIONS: u32 = 100;
/// Most grants one file may record (all states, declined included).
pub const MAX_GRANTS: usize = 1_000;
/// Most periodic reviews one file may record.
pub const MAX_REVIEWS: usize = 500;
/// Earliest birth year accepted for a household member.
pub const MIN_BIRTH_YEAR: u16 = 1900;

/// Everything that can be asked of a hardship file.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub enum HardshipFileCommand {
    /// 建档: open a file for a household. Only on a new file.
    OpenFile {
        /// The household as recorded at opening.
        household: Household,
        /// The date on the paper file (not after the day the command is recorded).
        #[serde(deserialize_with = "crate::values::plausible_date")]
        opened_on: NaiveDate,
    },
    /// 入户走访: record a home visit, possibly with cash handed over against a signature.
    LogVisit {
        /// Caller-chosen id, unique within the file.
        visit_id: Code,
        /// The day of the visit (not after the day the command is recorded).
        #[serde(deserialize_with = "crate::values::plausible_date")]
        visited_on: NaiveDate,
        /// Verification, follow-up or festival condolence.
        kind: VisitKind,
        /// Who went (1 to [`MAX_CASEWORKERS`], no repeats).
        caseworkers: Vec<PersonName>,
        /// What was found.
        findings: LongText,
        /// Which facts were checked at the door (no repeats).
        facts_verified: Vec<VerifiedFact>,
        /// Whether a union contact card (联系卡) was handed over.
        contact_card_issued: bool,
        /// Cash handed over against an approved cash grant, if any.
        cash_handover: Option<CashHandover>,
    },
    /// 核实: an approver confirms or rejects the household after a verification visit.
    Verify {
        /// Confirmed or rejected.
        outcome: VerificationOutcome,
    },
    /// 制定帮扶计划: adopt the first plan of a verified file.
    AdoptPlan {
        /// What the plan is meant to achieve.
        goal: ShortText,
        /// The measures (1 to [`MAX_MEASURES`], unique ids).
        measures: Vec<MeasureSpec>,
    },
    /// 调整帮扶计划: replace the plan's measures with a new full set.
    RevisePlan {
        /// Why the plan changes.
        reason: ShortText,
        /// The plan's goal after the revision.
        goal: ShortText,
        /// The full set of measures after the revision.
        measures: Vec<MeasureSpec>,
    },
    /// 申请发放: ask for money against one measure of the plan.
    RequestGrant {
        /// Caller-chosen id, unique within the file.
        grant_id: Code,
        /// The measure the money is for.
        measure_id: Code,
        /// How much (more than zero, at most what the measure has left).
        #[serde(deserialize_with = "crate::values::amount")]
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
        amount_fen: Fen,
        /// Who receives it and how.
        payee: Payee,
        /// Optional remark.
        note: Option<ShortText>,
    },
    /// 审批发放: approve a pending grant (not one's own request).
    ApproveGrant {
        /// The grant.
        grant_id: Code,
    },
    /// 不予发放: decline a pending grant; its amount returns to the measure.
    DeclineGrant {
        /// The grant.
        grant_id: Code,
        /// Why.
        reason: ShortText,
    },
    /// 登记银行发放: record that an approved bank-transfer grant was paid.
    RecordGrantPaid {
        /// The grant.
        grant_id: Code,
        /// The day the bank paid (not after the day the command is recorded).
        #[serde(deserialize_with = "crate::values::plausible_date")]
        paid_on: NaiveDate,
        /// The bank's or batch's reference.
        reference: Code,
    },
    /// 措施办结: mark a measure as carried out.
    CompleteMeasure {
        /// The measure.
        measure_id: Code,
        /// What was done.
        note: ShortText,
    },
    /// 动态管理: record a periodic review of the household.
    RecordReview {
        /// The day of the review (not after the day the command is recorded).
        #[serde(deserialize_with = "crate::values::plausible_date")]
        reviewed_on: NaiveDate,
        /// What the review found.
        outcome: ReviewOutcome,
        /// Details.
        note: LongText,
        /// When to review next (after `reviewed_on`).
        #[serde(deserialize_with = "crate::values::plausible_date")]
        next_review_on: NaiveDate,
    },
    /// 结档: close the file (no grants may be pending or approved-unpaid).
    CloseFile {
        /// Why.
        reason: ClosureReason,
        /// Details.
        note: ShortText,
    },
    /// 重新建档: reopen a closed file when the household falls back into hardship.
    ReopenFile {
        /// Why.
        reason: ShortText,
    },
}

/// A household (户) as recorded on its file.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Household {
    /// 户主.
    pub head: HeadOfHousehold,
    /// The other members; the head is not repeated here. At most [`MAX_MEMBERS`].
    pub members: Vec<HouseholdMember>,
    /// 家庭人均月收入.
    #[serde(deserialize_with = "crate::values::amount")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
    pub monthly_income_per_capita_fen: Fen,
    /// 当地最低生活保障标准 (monthly, per person).
    #[serde(deserialize_with = "crate::values::amount")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
    pub local_minimum_standard_fen: Fen,
    /// 致困原因: at least one, no repeats.
    pub causes: Vec<HardshipCause>,
}

/// The head of household (户主), a union member.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HeadOfHousehold {
    /// 姓名.
    pub name: PersonName,
    /// 身份证号: may head at most one open file.
    pub resident_id: ResidentId,
    /// 手机号.
    pub phone: MobileNumber,
    /// 工作单位.
    pub employer_unit: OrgName,
    /// 所在基层工会.
    pub grassroots_union: OrgName,
    /// 农民工.
    pub migrant_worker: bool,
    /// 流动会员 (working away from the union that holds the membership).
    pub mobile_member: bool,
}

/// A household member other than the head.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HouseholdMember {
    /// 姓名.
    pub name: PersonName,
    /// 与户主关系.
    pub relation: Relation,
    /// 出生年份: a year does not go stale the way an age does.
    /// From [`MIN_BIRTH_YEAR`] to the year the file is opened.
    pub birth_year: u16,
    /// 健康状况.
    pub health: Health,
    /// 就学情况.
    pub schooling: Schooling,
}

impl HouseholdMember {
    /// The age reached during `year` (what paper forms write as 年龄).
    pub fn age_in_year(&self, year: i32) -> u16 {
        u16::try_from(year.saturating_sub(i32::from(self.birth_year))).unwrap_or(0)
    }
}

/// Generates a closed snake_case unit enum with `ALL` and `label`.
macro_rules! labelled_enum {
    (
        $(#[$doc:meta])* $name:ident {
            $( $(#[$vdoc:meta])* $variant:ident => ($zh:literal, $en:literal) ),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vdoc])* $variant ),+
        }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name people read (Chinese first).
            pub fn label(self, lang: Lang) -> &'static str {
                match self {
                    $( $name::$variant => lang.pick($zh, $en) ),+
                }
            }
        }
    };
}

labelled_enum!(
    /// 与户主关系.
    Relation {
        /// 配偶.
        Spouse => ("配偶", "spouse"),
        /// 子女.
        Child => ("子女", "child"),
        /// 父母.
        Parent => ("父母", "parent"),
        /// 兄弟姐妹.
        Sibling => ("兄弟姐妹", "sibling"),
        /// 孙子女.
        Grandchild => ("孙子女", "grandchild"),
        /// 其他.
        Other => ("其他", "other"),
    }
);

labelled_enum!(
    /// 健康状况.
    Health {
        /// 健康.
        Healthy => ("健康", "healthy"),
        /// 慢性病.
        ChronicIllness => ("慢性病", "chronic illness"),
        /// 大病/重病.
        SeriousIllness => ("重大疾病", "serious illness"),
        /// 残疾.
        Disabled => ("残疾", "disabled"),
    }
);

labelled_enum!(
    /// 就学情况.
    Schooling {
        /// 未上学 / 不在学.
        None => ("不在学", "not in school"),
        /// 学前.
        Preschool => ("学前教育", "preschool"),
        /// 小学.
        Primary => ("小学", "primary school"),
        /// 初中.
        JuniorSecondary => ("初中", "junior secondary"),
        /// 高中.
        SeniorSecondary => ("高中", "senior secondary"),
        /// 中职/高职.
        Vocational => ("职业院校", "vocational school"),
        /// 大学.
        University => ("大学", "university"),
    }
);

labelled_enum!(
    /// 致困原因.
    HardshipCause {
        /// 因病.
        Illness => ("因病", "illness"),
        /// 因残.
        Disability => ("因残", "disability"),
        /// 因灾.
        Disaster => ("因灾", "disaster"),
        /// 失业/待岗.
        JobLoss => ("失业/待岗", "job loss"),
        /// 子女就学.
        ChildrenSchooling => ("子女就学", "children's schooling"),
        /// 单亲.
        SingleParent => ("单亲", "single parent"),
        /// 其他.
        Other => ("其他", "other"),
    }
);

labelled_enum!(
    /// 走访类型.
    VisitKind {
        /// 识别核查: the visit a verification rests on.
        Verification => ("识别核查", "verification"),
        /// 回访.
        FollowUp => ("回访", "follow-up"),
        /// 送温暖慰问.
        FestivalCondolence => ("送温暖慰问", "festival condolence"),
    }
);

labelled_enum!(
    /// A fact checked at the door.
    VerifiedFact {
        /// 收入.
        Income => ("收入", "income"),
        /// 家庭成员.
        Members => ("家庭成员", "household members"),
        /// 致困原因.
        Causes => ("致困原因", "hardship causes"),
        /// 住房.
        Housing => ("住房", "housing"),
        /// 就业.
        Employment => ("就业", "employment"),
        /// 病历/诊断证明.
        MedicalRecords => ("病历资料", "medical records"),
    }
);

labelled_enum!(
    /// 帮扶措施类型.
    MeasureKind {
        /// 生活救助.
        LivingRelief => ("生活救助", "living relief"),
        /// 医疗救助.
        MedicalRelief => ("医疗救助", "medical relief"),
        /// 助学 (金秋助学).
        EducationAid => ("助学", "education aid"),
        /// 就业援助.
        EmploymentAssistance => ("就业援助", "employment assistance"),
        /// 法律援助.
        LegalAid => ("法律援助", "legal aid"),
        /// 送温暖.
        FestivalCondolence => ("送温暖", "festival condolence"),
        /// 尿毒症透析救助.
        DialysisRelief => ("尿毒症透析救助", "dialysis relief"),
        /// 白内障光明工程.
        CataractSurgery => ("白内障光明工程", "cataract surgery"),
        /// 工会爱心卡.
        LoveCard => ("工会爱心卡", "union love card"),
        /// 其他.
        Other => ("其他", "other"),
    }
);

impl MeasureKind {
    /// Whether the measure is about money. Non-monetary measures (job
    /// placement, legal advice, other services) may be planned at zero yuan.
    pub fn is_monetary(self) -> bool {
        !matches!(
            self,
            MeasureKind::EmploymentAssistance | MeasureKind::LegalAid | MeasureKind::Other
        )
    }
}

labelled_enum!(
    /// 复核结论.
    ReviewOutcome {
        /// 仍然困难.
        StillInHardship => ("仍然困难", "still in hardship"),
        /// 有所好转.
        Improving => ("有所好转", "improving"),
        /// 建议解困脱困.
        LiftedOutRecommended => ("建议解困脱困", "lifting out recommended"),
    }
);

/// Cash handed over at a visit against an approved cash grant (慰问金现场发放).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CashHandover {
    /// The approved, unpaid cash grant paid out.
    pub grant_id: Code,
    /// The amount on the signed receipt; must equal the grant's amount.
    #[serde(deserialize_with = "crate::values::amount")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
    pub amount_fen: Fen,
    /// Who signed for the household.
    pub signed_by: PersonName,
}

/// The result of verification (核实).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum VerificationOutcome {
    /// The household qualifies.
    Confirmed {
        /// Remark.
        note: ShortText,
    },
    /// The household does not qualify; the file closes.
    Rejected {
        /// Why.
        reason: ShortText,
    },
}

/// One measure of an assistance plan, as adopted or revised.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MeasureSpec {
    /// Caller-chosen id, unique within the plan.
    pub measure_id: Code,
    /// What kind of help.
    pub kind: MeasureKind,
    /// What exactly.
    pub description: ShortText,
    /// Planned amount; more than zero unless the kind is non-monetary.
    #[serde(deserialize_with = "crate::values::amount")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::values::schema::amount))]
    pub planned_amount_fen: Fen,
    /// Where the money comes from.
    pub fund: Fund,
    /// When it should be carried out.
    #[serde(deserialize_with = "crate::values::plausible_date")]
    pub due_on: NaiveDate,
}

/// Who receives a grant, and how.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Payee {
    /// Paid by the bank to a card.
    BankTransfer {
        /// The card.
        card: BankCard,
        /// The account holder's name.
        account_name: PersonName,
    },
    /// Handed over in cash at a visit, against the household's signature.
    Cash,
}

impl Payee {
    /// 银行转账 / 现金.
    pub fn label(&self, lang: Lang) -> &'static str {
        match self {
            Payee::BankTransfer { .. } => lang.pick("银行转账", "bank transfer"),
            Payee::Cash => lang.pick("现金", "cash"),
        }
    }
}

/// Why a file is closed (结档原因).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ClosureReason {
    /// 解困脱困.
    LiftedOut,
    /// 迁出.
    MovedAway,
    /// 户主去世.
    Deceased,
    /// 并入其他档案.
    Merged {
        /// The file this one was merged into.
        into_file_id: Code,
    },
}

impl ClosureReason {
    /// The reason's name for people.
    pub fn label(&self, lang: Lang) -> &'static str {
        match self {
            ClosureReason::LiftedOut => lang.pick("解困脱困", "lifted out of hardship"),
            ClosureReason::MovedAway => lang.pick("迁出", "moved away"),
            ClosureReason::Deceased => lang.pick("户主去世", "head of household deceased"),
            ClosureReason::Merged { .. } => lang.pick("并档", "merged into another file"),
        }
    }
}
