//! Custom actions of an enterprise (`/v2/custom-actions/`).

use sea_query::{Cond, Expr, ExprTrait, Func, Iden, Order, Query};
use serde_json::Value;
use steward_core::custom_actions::{ActionOption, CustomActionSpec};
use steward_core::pagination::PageRequest;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::groups::contains_pattern;
use crate::{Result, Store, StoreError, now};

#[derive(Iden, Clone, Copy)]
enum CustomActions {
    Table,
    Id,
    EnterpriseId,
    Name,
    ActionType,
    State,
    PositionInBlueprints,
    PositionInDeviceSettings,
    Properties,
    Options,
    CreatedBy,
    UpdatedBy,
    CreatedAt,
    UpdatedAt,
}

const COLUMNS: [CustomActions; 13] = [
    CustomActions::Id,
    CustomActions::EnterpriseId,
    CustomActions::Name,
    CustomActions::ActionType,
    CustomActions::State,
    CustomActions::PositionInBlueprints,
    CustomActions::PositionInDeviceSettings,
    CustomActions::Properties,
    CustomActions::Options,
    CustomActions::CreatedBy,
    CustomActions::UpdatedBy,
    CustomActions::CreatedAt,
    CustomActions::UpdatedAt,
];

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CustomAction {
    pub id: Uuid,
    pub enterprise_id: Uuid,
    pub name: String,
    pub action_type: String,
    pub state: String,
    pub position_in_blueprints: String,
    pub position_in_device_settings: String,
    /// JSON object.
    pub properties: String,
    /// JSON array in the wire form.
    pub options: String,
    pub created_by: Option<i64>,
    pub updated_by: Option<i64>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl CustomAction {
    pub fn spec(&self) -> CustomActionSpec {
        CustomActionSpec {
            name: self.name.clone(),
            action_type: self.action_type.clone(),
            state: self.state.clone(),
            position_in_blueprints: self.position_in_blueprints.clone(),
            position_in_device_settings: self.position_in_device_settings.clone(),
            properties: serde_json::from_str(&self.properties).unwrap_or_default(),
            options: self.option_list(),
        }
    }

    pub fn option_list(&self) -> Vec<ActionOption> {
        serde_json::from_str::<Vec<Value>>(&self.options)
            .unwrap_or_default()
            .iter()
            .filter_map(ActionOption::from_json)
            .collect()
    }
}

/// Filters of the list; list values match any of them.
#[derive(Debug, Clone, Default)]
pub struct CustomActionFilter {
    pub name: Option<String>,
    pub types: Vec<String>,
    pub states: Vec<String>,
    pub position_in_blueprints: Vec<String>,
    pub position_in_device_settings: Vec<String>,
    pub created_by: Option<i64>,
    pub updated_by: Option<i64>,
    /// A column name of [`ORDERINGS`], `-` for descending.
    pub ordering: Option<String>,
}

/// The fields the list can be ordered by.
pub const ORDERINGS: [&str; 5] = [
    "name",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
];

fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn options_text(spec: &CustomActionSpec) -> String {
    json_text(
        &spec
            .options
            .iter()
            .map(ActionOption::to_json)
            .collect::<Vec<_>>(),
    )
}

impl Store {
    pub async fn create_custom_action(
        &self,
        enterprise_id: Uuid,
        spec: &CustomActionSpec,
        by: i64,
    ) -> Result<CustomAction> {
        let at = now();
        let id = Uuid::now_v7();
        let stmt = Query::insert()
            .into_table(CustomActions::Table)
            .columns(COLUMNS)
            .values_panic([
                id.into(),
                enterprise_id.into(),
                spec.name.clone().into(),
                spec.action_type.clone().into(),
                spec.state.clone().into(),
                spec.position_in_blueprints.clone().into(),
                spec.position_in_device_settings.clone().into(),
                json_text(&spec.properties).into(),
                options_text(spec).into(),
                Some(by).into(),
                Some(by).into(),
                at.into(),
                at.into(),
            ])
            .to_owned();
        self.execute(&stmt).await?;
        self.custom_action(enterprise_id, id).await
    }

    pub async fn custom_action(&self, enterprise_id: Uuid, id: Uuid) -> Result<CustomAction> {
        let stmt = Query::select()
            .columns(COLUMNS)
            .from(CustomActions::Table)
            .and_where(Expr::col(CustomActions::EnterpriseId).eq(enterprise_id))
            .and_where(Expr::col(CustomActions::Id).eq(id))
            .to_owned();
        self.fetch_optional(&stmt)
            .await?
            .ok_or(StoreError::NotFound("custom action"))
    }

    pub async fn custom_actions(
        &self,
        enterprise_id: Uuid,
        f: &CustomActionFilter,
        page: PageRequest,
    ) -> Result<(u64, Vec<CustomAction>)> {
        let mut cond = Cond::all().add(Expr::col(CustomActions::EnterpriseId).eq(enterprise_id));
        if let Some(name) = &f.name {
            cond = cond.add(
                Expr::expr(Func::lower(Expr::col(CustomActions::Name)))
                    .like(contains_pattern(name)),
            );
        }
        for (column, values) in [
            (CustomActions::ActionType, &f.types),
            (CustomActions::State, &f.states),
            (
                CustomActions::PositionInBlueprints,
                &f.position_in_blueprints,
            ),
            (
                CustomActions::PositionInDeviceSettings,
                &f.position_in_device_settings,
            ),
        ] {
            if !values.is_empty() {
                cond = cond.add(Expr::col(column).is_in(values.iter().cloned()));
            }
        }
        if let Some(by) = f.created_by {
            cond = cond.add(Expr::col(CustomActions::CreatedBy).eq(by));
        }
        if let Some(by) = f.updated_by {
            cond = cond.add(Expr::col(CustomActions::UpdatedBy).eq(by));
        }
        let count = Query::select()
            .expr(Expr::col(CustomActions::Id).count())
            .from(CustomActions::Table)
            .cond_where(cond.clone())
            .to_owned();
        let total = self.count(&count).await?;
        let (field, order) = match f.ordering.as_deref() {
            Some(o) => match o.strip_prefix('-') {
                Some(field) => (field, Order::Desc),
                None => (o, Order::Asc),
            },
            None => ("created_at", Order::Desc),
        };
        let column = match field {
            "name" => CustomActions::Name,
            "updated_at" => CustomActions::UpdatedAt,
            "created_by" => CustomActions::CreatedBy,
            "updated_by" => CustomActions::UpdatedBy,
            _ => CustomActions::CreatedAt,
        };
        let stmt = Query::select()
            .columns(COLUMNS)
            .from(CustomActions::Table)
            .cond_where(cond)
            .order_by(column, order)
            .order_by(CustomActions::Id, Order::Asc)
            .limit(page.limit)
            .offset(page.offset)
            .to_owned();
        Ok((total, self.fetch_all(&stmt).await?))
    }

    pub async fn update_custom_action(
        &self,
        enterprise_id: Uuid,
        id: Uuid,
        spec: &CustomActionSpec,
        by: i64,
    ) -> Result<CustomAction> {
        let stmt = Query::update()
            .table(CustomActions::Table)
            .value(CustomActions::Name, spec.name.clone())
            .value(CustomActions::ActionType, spec.action_type.clone())
            .value(CustomActions::State, spec.state.clone())
            .value(
                CustomActions::PositionInBlueprints,
                spec.position_in_blueprints.clone(),
            )
            .value(
                CustomActions::PositionInDeviceSettings,
                spec.position_in_device_settings.clone(),
            )
            .value(CustomActions::Properties, json_text(&spec.properties))
            .value(CustomActions::Options, options_text(spec))
            .value(CustomActions::UpdatedBy, by)
            .value(CustomActions::UpdatedAt, now())
            .and_where(Expr::col(CustomActions::EnterpriseId).eq(enterprise_id))
            .and_where(Expr::col(CustomActions::Id).eq(id))
            .to_owned();
        if self.execute(&stmt).await? == 0 {
            return Err(StoreError::NotFound("custom action"));
        }
        self.custom_action(enterprise_id, id).await
    }

    pub async fn delete_custom_action(&self, enterprise_id: Uuid, id: Uuid) -> Result<()> {
        let stmt = Query::delete()
            .from_table(CustomActions::Table)
            .and_where(Expr::col(CustomActions::EnterpriseId).eq(enterprise_id))
            .and_where(Expr::col(CustomActions::Id).eq(id))
            .to_owned();
        if self.execute(&stmt).await? == 0 {
            return Err(StoreError::NotFound("custom action"));
        }
        Ok(())
    }
}
