"""The one label table: names a planner reads, in Chinese and English, with units.

Every figure, table, report and the browser view take their labels from here
(``label(key, lang)``), so a role or KPI is named the same way everywhere. Keys are the
model's own snake_case names (roles, case types, activities, KPIs); per-role and per-case-type
KPIs (``utilisation_party_workers``, ``type_wait_hours_mediation``) are composed from a prefix
label and the role's or type's label.
"""

from __future__ import annotations

LANGS = ("zh", "en")

# key: (Chinese, English)
ROLES = {
    "grid_supervisors": ("网格监督员", "grid supervisors"),
    "platform_officers": ("平台信息员", "platform officers"),
    "city_management": ("城管执法队", "city-management squad"),
    "police": ("社区民警", "community police"),
    "market_supervision": ("市场监管所", "market supervision"),
    "housing_office": ("房管办", "housing office"),
    "greening_office": ("绿化市容所", "greening & appearance office"),
    "committee_workers": ("居委会工作人员", "residents' committee workers"),
    "party_workers": ("党群工作者", "party-mass workers"),
    "community_workers": ("社区工作者(平安办)", "community workers (security pool)"),
    "acceptance_clerks": ("受理中心窗口人员", "acceptance-centre clerks"),
    "district_departments": ("区职能部门", "district departments"),
    "purchased_services": ("购买服务(社会组织)", "purchased services"),
}

CASE_TYPES = {
    "street_environment": ("市容环境", "street environment"),
    "street_order": ("街面秩序", "street order"),
    "advertising": ("广告招牌", "advertising"),
    "public_facilities": ("公共设施", "public facilities"),
    "illegal_construction": ("违法建筑", "illegal construction"),
    "group_renting": ("群租", "group renting"),
    "unlicensed_business": ("无证经营", "unlicensed business"),
    "service_request": ("求助服务", "service requests"),
    "affairs_item": ("事务受理", "affairs items"),
    "mediation": ("矛盾调解", "mediation"),
    "security_matter": ("平安综治事项", "security matters"),
    "organisation_service": ("两新组织服务", "organisation services"),
}

ACTIVITIES = {
    "casework": ("办案", "casework"),
    "travel": ("路途", "travel"),
    "patrol": ("巡查", "patrol"),
    "devolved_tasks": ("下沉任务", "devolved tasks"),
    "investment_promotion": ("招商引资", "investment promotion"),
    "data_collection": ("数据采集", "data collection"),
    "idle": ("空闲", "idle"),
    "overtime": ("加班", "overtime"),
    "absent": ("缺勤", "absence"),
}

STAGES = {
    "discover": ("发现", "discover"),
    "register": ("立案", "register"),
    "dispatch": ("派遣", "dispatch"),
    "handle": ("处置", "handle"),
    "close": ("结案", "close"),
    "evaluate": ("考核", "evaluate"),
}

# KPI: (Chinese, English, unit key in UNITS or "")
KPIS = {
    "cases_arrived": ("案件数", "cases", "cases"),
    "cases_closed": ("结案数", "cases closed", "cases"),
    "cases_open_at_end": ("期末未结案件", "cases open at end", "cases"),
    "closure_rate": ("实际结案率", "closure rate (true)", "share"),
    "closure_rate_reported": ("上报结案率", "closure rate (reported)", "share"),
    "on_time_resident": ("按时解决率(居民口径)", "on time, as residents see it", "share"),
    "on_time_standard": ("按期结案率(CJ/T 315)", "on time, CJ/T 315 standard", "share"),
    "on_time_reported": ("上报按期结案率", "on time (reported)", "share"),
    "wait_mean_days": ("平均解决时间", "mean time to fix", "days"),
    "wait_p90_days": ("90%解决时间", "time to fix, 90th percentile", "days"),
    "reopen_rate": ("返工率", "reopen rate", "share"),
    "bounces_per_case": ("每案推诿次数", "bounces per case", "count"),
    "patrol_discovery_share": ("巡查发现占比", "share found on patrol", "share"),
    "on_spot_share": ("现场处置占比", "share fixed on the spot", "share"),
    "hotline_escalation_rate": ("转12345比例", "escalated to 12345", "share"),
    "hotline_orders": ("12345工单数", "12345 work orders", "cases"),
    "hotline_orders_on_time": ("12345工单按时办结率", "12345 work orders answered on time", "share"),
    "survey_respondents_with_case": ("有案受访居民数", "survey respondents who had a case", "people"),
    "resident_satisfaction": ("居民满意度(有案居民)", "satisfaction of residents with a case", "score"),
    "survey_satisfaction": ("调查满意度", "survey satisfaction", "score"),
    "survey_satisfaction_se": ("调查满意度标准误", "survey satisfaction, standard error", "score"),
    "resident_trust_end": ("期末居民信任度", "resident trust at end", "score"),
    "problems_undiscovered_at_end": ("期末未发现问题", "problems undiscovered at end", "cases"),
    "staff_total": ("编制人数", "staff posts", "people"),
    "staff_cost_per_year": ("人员成本", "staff cost", "yuan_per_year"),
    "purchased_services_cost_per_year": ("购买服务费用", "purchased services", "yuan_per_year"),
    "total_cost_per_year": ("总成本", "total cost", "yuan_per_year"),
}

# Observed quantities that calibration computes beside the KPIs (sim.calibrate.measures).
MEASURES = {
    "grid_cases_per_resident_per_year": ("每居民每年网格案件数", "grid cases per resident per year", "per_resident_per_year"),
    "requests_per_resident_per_year": ("每居民每年诉求数", "requests per resident per year", "per_resident_per_year"),
    "reports_per_supervisor_per_day": ("每名监督员每日上报数", "reports per supervisor per day", "cases_per_day"),
    "hotline_orders_per_resident_per_year": ("每居民每年12345工单数", "12345 work orders per resident per year", "per_resident_per_year"),
    "cases_per_month_grid": ("每月网格案件数", "grid cases per month", "cases_per_month"),
    "cases_per_month_residents": ("每月居民诉求数", "resident requests per month", "cases_per_month"),
    "cases_per_month_organisations": ("每月两新组织诉求数", "organisation requests per month", "cases_per_month"),
}
KPIS.update(MEASURES)

# Per-role and per-case-type KPIs: prefix -> (Chinese, English, unit); the name follows.
ROLE_KPI_PREFIXES = {
    "utilisation_": ("忙碌率", "utilisation", "share"),
    "casework_share_": ("办案时间占比", "share of time on casework", "share"),
    "admin_share_": ("行政事务占比", "share of time on devolved tasks and data", "share"),
    "overtime_hours_": ("加班时数", "overtime", "hours"),
    "staff_": ("人数", "staff", "people"),
    "exits_": ("离职人数", "exits", "people"),
    "direct_work_share_": ("直接办案时间占比", "share of worked time on cases (direct work)", "share"),
    "queue_wait_hours_": ("平均排队时间", "mean queue wait", "hours"),
    "queue_wait_p90_hours_": ("90%排队时间", "queue wait, 90th percentile", "hours"),
    "queue_waited_share_": ("需排队比例", "share of jobs that waited", "share"),
}
TYPE_KPI_PREFIXES = {
    "type_wait_hours_": ("平均解决时间", "mean time to fix", "hours"),
    "type_wait_p90_hours_": ("90%解决时间", "time to fix, 90th percentile", "hours"),
    "type_on_time_": ("按时解决率", "on time (residents)", "share"),
}

UNITS = {
    "share": ("比例", "share"),
    "days": ("天", "days"),
    "hours": ("小时", "hours"),
    "cases": ("件", "cases"),
    "count": ("次", "count"),
    "people": ("人", "people"),
    "score": ("分(0–1)", "score 0–1"),
    "yuan_per_year": ("元/年", "yuan/year"),
    "per_resident_per_year": ("件/人·年", "per resident per year"),
    "cases_per_day": ("件/天", "cases per day"),
    "cases_per_month": ("件/月", "cases per month"),
}

WORDS = {  # words of tables, figures and the report
    "scenario": ("情景", "scenario"),
    "difference": ("差值", "difference"),
    "mean": ("均值", "mean"),
    "ci95": ("95%置信区间", "95% CI"),
    "day": ("天", "day"),
    "open_cases": ("未结案件", "open cases"),
    # -- the browser view (sim/viz): page, controls, map, charts --
    "app_title": ("街道治理仿真", "streetsim: the street"),
    "sim_day": ("模拟第几天", "day"),
    "busiest_utilisation": ("最忙岗位忙碌率", "busiest role's utilisation"),
    "language": ("语言", "language"),
    "street": ("街道", "street"),
    "step": ("单步", "Step"),
    "play": ("播放", "Play"),
    "pause": ("暂停", "Pause"),
    "reset": ("重置", "Reset"),
    "compare_loaded": ("与原情景对比", "compare with the scenario as loaded"),
    "as_loaded": ("原情景", "as loaded"),
    "changed": ("调整后", "changed"),
    "staffing": ("人员配置", "staffing"),
    "levers": ("改革措施", "reform levers"),
    "apply_on_reset": ("调整在按“重置”后生效", "changes take effect on Reset"),
    "changed_pending": ("已调整,按“重置”生效", "changed: press Reset to apply"),
    "lever_joint_enforcement": ("联合执法", "joint enforcement"),
    "lever_responsibility_lists": ("责任清单", "responsibility lists"),
    "lever_one_stop_acceptance": ("一站式受理", "one-stop acceptance"),
    "lever_staggered_hours": ("错时延时服务", "staggered hours and weekend duty"),
    "lever_investment_promotion": ("招商引资任务", "investment-promotion duty"),
    "lever_devolved_gatekeeping": ("下沉任务准入把关", "gatekeeping of devolved tasks"),
    "lever_data_sharing": ("数据共享", "data sharing"),
    "lever_purchased_services": ("购买服务", "purchased services"),
    "grid_management_level": ("网格化管理层级", "grid management level"),
    "level_street": ("街道层级", "at the street"),
    "level_district": ("区层级", "at the district"),
    "unit_residents": ("名居民", "residents"),
    "unit_residential_areas": ("个居民区", "residential areas"),
    "unit_residential_area": ("个居民区", "residential area"),
    "unit_grids": ("个网格", "grids"),
    "unit_grid": ("个网格", "grid"),
    "unit_two_new_orgs": ("个两新组织", "\"two new\" organisations"),
    "grid": ("网格", "grid"),
    "area": ("居民区", "area"),
    "trust": ("居民信任度", "residents' trust"),
    "satisfaction": ("满意度", "satisfaction"),
    "street_office": ("街道办(网格中心、受理中心)", "street office (grid centre, acceptance centre)"),
    "committee_office": ("居委会", "residents' committee"),
    "enforcement_officer": ("执法人员", "enforcement officer"),
    "staff_on_map": ("人员", "staff"),
    "open_case_step": ("未结案件所处环节", "open case: step"),
    "deadline": ("期限", "deadline"),
    "within_deadline": ("未超期", "within deadline"),
    "overdue": ("已超期", "overdue"),
    "backlog_by_step": ("各环节积压案件", "open cases by step"),
    "on_time_so_far": ("按时解决率(居民口径,累计)", "on time as residents see it, so far"),
    "utilisation_by_role": ("各岗位忙碌率", "utilisation by role"),
    "trust_and_satisfaction": ("居民信任度与满意度", "residents' trust and satisfaction"),
    "cannot_show": ("无法显示该情景", "cannot show this scenario"),
}

_TABLES = (ROLES, CASE_TYPES, ACTIVITIES, STAGES, WORDS)


def _pick(pair, lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"language must be one of {', '.join(LANGS)}, got {lang!r}")
    return pair[LANGS.index(lang)]


def label(key: str, lang: str = "en") -> str:
    """The planner's name of ``key`` (a role, case type, activity, stage, KPI or word).

    Unknown keys fall back to the key with underscores as spaces, so a user's own role or case
    type still reads as words.
    """
    if key in KPIS:
        return _pick(KPIS[key], lang)
    for table in _TABLES:
        if key in table:
            return _pick(table[key], lang)
    for prefixes in (ROLE_KPI_PREFIXES, TYPE_KPI_PREFIXES):
        for prefix, names in sorted(prefixes.items(), key=lambda kv: -len(kv[0])):
            if key.startswith(prefix):
                what = label(key[len(prefix):], lang)
                return f"{what}{_pick(names, lang)}" if lang == "zh" else f"{_pick(names, lang)}, {what}"
    return key.replace("_", " ")


def unit(key: str, lang: str = "en") -> str:
    """The unit of a KPI, in words ('' when it has none)."""
    u = ""
    if key in KPIS:
        u = KPIS[key][2]
    else:
        for prefixes in (ROLE_KPI_PREFIXES, TYPE_KPI_PREFIXES):
            for prefix, names in sorted(prefixes.items(), key=lambda kv: -len(kv[0])):
                if key.startswith(prefix):
                    u = names[2]
                    break
            if u:
                break
    return _pick(UNITS[u], lang) if u else ""
