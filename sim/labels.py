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
    "community_workers": ("社区工作者（平安办）", "community workers (security pool)"),
    "acceptance_clerks": ("受理中心窗口人员", "acceptance-centre clerks"),
    "district_departments": ("区职能部门", "district departments"),
    "purchased_services": ("购买服务（社会组织）", "purchased services"),
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
    "neighbourhood_policing": ("社区警务", "neighbourhood policing"),
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
    "on_time_resident": ("按时解决率（居民口径）", "on time, as residents see it", "share"),
    "on_time_standard": ("按期结案率（CJ/T 315）", "on time, CJ/T 315 standard", "share"),
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
    "resident_satisfaction": ("居民满意度（有案居民）", "satisfaction of residents with a case", "score"),
    "survey_satisfaction": ("调查满意度", "survey satisfaction", "score"),
    "survey_satisfaction_se": ("调查满意度标准误", "survey satisfaction, standard error", "score"),
    "resident_trust_end": ("期末居民信任度", "resident trust at end", "score"),
    "problems_undiscovered_at_end": ("期末未发现问题", "problems undiscovered at end", "cases"),
    "staff_total": ("编制人数", "staff posts", "people"),
    "staff_cost_per_year": ("人员成本", "staff cost", "yuan_per_year"),
    "purchased_services_cost_per_year": ("购买服务费用", "purchased services", "yuan_per_year"),
    "total_cost_per_year": ("总成本", "total cost", "yuan_per_year"),
    # Names results folders written before issue 8 still carry; kept so old folders still read.
    "on_time_rate": ("按期结案率", "on-time closure", "share"),
    "mean_days_to_close": ("平均结案时间", "mean time to close", "days"),
    "p90_days_to_close": ("90%结案时间", "time to close, 90th percentile", "days"),
    "staff_cost": ("人员成本（统计期）", "staff cost (measured period)", "yuan"),
    "purchased_services_cost": ("购买服务费用（统计期）", "purchased services (measured period)", "yuan"),
}

# KPIs the scenario fixes (staff posts): shown as inputs, never tested as differences.
INPUT_KPIS = ("staff_total",)
INPUT_KPI_PREFIXES = ("staff_",)
# Observed quantities that calibration computes beside the KPIs (sim.calibrate.measures).
MEASURES = {
    "grid_cases_per_resident_per_year": ("每居民每年网格案件数", "grid cases per resident per year", "per_resident_per_year"),
    "requests_per_resident_per_year": ("每居民每年诉求数", "requests per resident per year", "per_resident_per_year"),
    "closure_rate_reported_settled": ("上报结案率（发现满14天的案件）", "closure rate (reported), cases 14+ days old",
                                      "share"),
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

# Scenario numbers a calibration or sweep moves, by key path: (Chinese, English, unit key in UNITS
# or ""). ``*`` is a case type or role, named by its label the way the per-case-type and per-role
# KPIs are ('市容环境平均处置时长', 'mean handling time, street environment').
PARAMETERS = {
    "case_types.*.arrivals.per_resident_per_year": ("发生率", "arrival rate", "per_resident_per_year"),
    "case_types.*.arrivals.per_org_per_year": ("发生率", "arrival rate", "per_org_per_year"),
    "case_types.*.arrivals.per_hour": ("发生率", "arrival rate", "cases_per_hour"),
    "case_types.*.on_spot_fix_share": ("现场处置比例", "share fixed on the spot", "share"),
    "case_types.*.handle.mean_hours": ("平均处置时长", "mean handling time", "hours"),
    "case_types.*.deadline_hours": ("处置时限", "deadline", "hours"),
    "loop.discovery.resident_report_per_day": ("居民每日先于巡查上报的概率", "daily chance a resident reports a problem first", ""),
    "loop.discovery.patrol_passes_per_day": ("监督员每日巡查趟数", "patrol passes per supervisor per day", ""),
    "levers.devolved_tasks.tasks_per_week.*": ("每周下沉任务数", "devolved tasks per week", ""),
    "levers.devolved_tasks.accepted_share_with_gatekeeping": ("准入把关后接收的下沉任务比例",
                                                               "share of devolved tasks accepted with gatekeeping", "share"),
    "levers.devolved_tasks.hours.mean_hours": ("下沉任务平均时长", "mean time per devolved task", "hours"),
    "staffing.*.count": ("人数", "posts", "people"),
    "staffing.*.per": ("每人服务对象数", "units served per post", ""),
    "staffing.*.lines": ("队列数（1=合并）", "queues (1 = one pool)", ""),
    "staffing.*.cost_per_year": ("每人年成本", "cost per post", "yuan_per_year"),
    "levers.devolved_tasks.gatekeeping": ("下沉任务准入把关", "gatekeeping of devolved tasks", ""),
    "levers.responsibility_lists.bounce_probability_with_lists": ("有责任清单时派错单位的概率",
                                                                  "chance of the wrong unit, with lists", "share"),
    "loop.departments.work.mean_hours": ("区职能部门平均处置时长", "mean department handling time", "hours"),
}

# The reform's levers (scenario key ``levers.<name>``), in the sources' own terms (domain.md).
LEVERS = {
    "investment_promotion": ("街道招商引资", "investment promotion by the street"),
    "sections": ("街道内设机构", "the street's internal sections"),
    "grid_management": ("网格化管理", "grid management"),
    "responsibility_lists": ("责任清单（A/B/C/D类）", "responsibility lists (A/B/C/D)"),
    "joint_enforcement": ("联勤联动", "joint enforcement"),
    "one_stop_acceptance": ("社区事务受理服务中心", "one-stop acceptance centre"),
    "staggered_hours": ("错时服务", "staggered hours"),
    "devolved_tasks": ("下沉任务", "tasks devolved to the street"),
    "data_sharing": ("数据共享", "data sharing"),
    "purchased_services": ("政府购买服务", "purchased services"),
}

UNITS = {
    "share": ("比例", "share"),
    "days": ("天", "days"),
    "hours": ("小时", "hours"),
    "cases": ("件", "cases"),
    "count": ("次", "count"),
    "people": ("人", "people"),
    "score": ("0–1分", "score 0–1"),  # not 分（0–1）: its label puts it in brackets already
    "yuan_per_year": ("元/年", "yuan/year"),
    "yuan": ("元", "yuan"),
    "per_resident_per_year": ("件/人·年", "per resident per year"),
    "cases_per_day": ("件/天", "cases per day"),
    "cases_per_month": ("件/月", "cases per month"),
    "per_org_per_year": ("件/组织·年", "per organisation per year"),
    "cases_per_hour": ("件/小时", "cases per hour"),
}

WORDS = {  # words of tables, figures and the report
    "scenario": ("情景", "scenario"),
    "difference": ("差值", "difference"),
    "mean": ("均值", "mean"),
    "ci95": ("95%置信区间", "95% CI"),
    "day": ("天", "day"),
    "open_cases": ("未结案件", "open cases"),
    "kpi": ("指标", "KPI"),
    "unit": ("单位", "unit"),
    "relative_change": ("相对变化", "relative change"),
    "baseline": ("基准", "baseline"),
    "inputs": ("输入（编制，不检验）", "inputs (fixed by the scenario, not tested)"),
    "replications": ("重复次数", "replications"),
    "seed": ("随机种子", "seed"),
    "paired_difference": ("配对差值", "paired difference"),
    "change_vs": ("相对于{base}的变化", "change against {base}"),
    "forest_title": ("{name}相对于{base}的配对差值（95%置信区间）",
                     "Paired difference, {name} against {base} (95% CI)"),
    "forest_axis": ("相对于基准均值的变化（%）", "change relative to the baseline mean (%)"),
    "ci_excludes_0": ("置信区间不含0", "CI excludes 0"),
    "ci_includes_0": ("置信区间含0", "CI includes 0"),
    "named": ("{name}：{what}", "{name}: {what}"),  # what is said of a name: a legend entry, a title
    "kpi_bars_title": ("各情景指标（均值与95%置信区间，{reps}）",
                       "KPIs by scenario (mean and 95% CI over {reps})"),
    "backlog_title": ("未结案件随时间变化（均值与95%置信带）", "Backlog over time (mean and 95% CI band)"),
    "backlog_y": ("日末未结案件（件）", "open cases at end of day (cases)"),
    "backlog_x": ("模拟年中的天数（天）", "day of the simulated year (days)"),
    "staff_time_title": ("各岗位工作时间构成（重复均值）", "Staff time by activity (mean over replications)"),
    "staff_time_shown": ("：前{shown}个情景（共{n}个，各情景的roles.csv含全部）",
                         ": the first {shown} of {n} scenarios (each scenario's roles.csv has them all)"),
    "staff_time_x": ("占工作时间比例（在岗+加班）", "share of working hours (on duty + overtime)"),
    "role": ("岗位", "role"),
    "posts": ("人数", "posts"),
    "cost_per_post": ("每人年成本（元/年）", "cost per post (yuan/year)"),
    "role_cost": ("岗位年成本（元/年）", "role cost (yuan/year)"),
    "total": ("合计", "total"),
    # the report (sim/report)
    "report_title": ("{what}附件：{names}", "Annex: {what} of {names}"),
    "kind_run": ("情景模拟", "simulation"),
    "kind_compare": ("情景比较", "comparison"),
    "kind_district": ("全区模拟", "district simulation"),
    "kind_sweep": ("参数扫描", "parameter sweep"),
    "kind_staffing": ("编制测算", "staffing plan"),
    "kind_calibration": ("模型校准", "calibration"),
    "sec_method": ("比较内容与方法", "What was compared and how"),
    "sec_headline": ("主要结果", "Headline results"),
    "sec_figures": ("图", "Figures"),
    "sec_staffing": ("各岗位人员与成本", "Staffing and cost by role"),
    "sec_assumptions": ("假设与来源", "Assumptions and sources"),
    "sec_all_kpis": ("附表：全部指标", "Appendix: every KPI"),
    "sec_software": ("软件与复现", "Software and reproduction"),
    "sec_responses": ("响应曲线", "Response curves"),
    "sec_sensitivity": ("敏感性指数", "Sensitivity indices"),
    "scenarios_compared": ("情景：", "Scenarios:"),
    "fact_replications": ("每个情景{reps}，随机种子{seed}", "{reps} per scenario, seed {seed}"),
    "n_replications": ("{n}次重复", "{n} replications"),
    "one_replication": ("1次重复", "1 replication"),
    "fact_horizon": ("模拟{days}天，其中前{warmup}天为预热期，不计入指标",
                     "horizon {days} days, of which the first {warmup} are warm-up and not measured"),
    "fact_crn": ("共同随机数：各情景的第i次重复使用相同的种子；每天的到达和每个案件的属性（渠道、时长、复核结果等）各有随机数流，"
                 "情景改变的只是杠杆所及之处，差值按重复配对计算",
                 "common random numbers: replication i of every scenario uses the same seed; each day's arrivals and "
                 "each case's attributes (channel, durations, check outcomes, ...) have their own streams, so scenarios "
                 "differ only where their levers act, and differences are paired by replication"),
    "fact_intervals": ("置信区间：比例与评分用Wilson区间（有效样本量），计数用精确泊松区间（过度离散校正），"
                       "其余用t分布或BCa自助法；配对差值用t分布",
                       "confidence intervals: Wilson (effective n) for shares and scores, exact Poisson "
                       "(overdispersion-scaled) for counts, Student t or BCa bootstrap for the rest; paired "
                       "differences by Student t"),
    "lever": ("参数（键路径）", "lever (key path)"),
    "levers_differ": ("各情景不同的参数（解析后的情景文件）", "Levers that differ (resolved scenario files)"),
    "more_rows": ("另有{n}项不同，见各情景的scenario.resolved.yaml", "{n} more differ; see each scenario.resolved.yaml"),
    "no_lever_differs": ("各情景参数完全相同。", "The scenarios' parameters are identical."),
    "headline_intro": ("{name}与{base}相比：检验的{tested}项指标中有{n}项发生变化（主要指标在前，其后按相对变化大小排序）。",
                       "{name} against {base}: {n} of the {tested} KPIs tested changed (after the lead KPIs, largest relative change first)."),
    "headline_caption": ("{name}相对于{base}：主要指标及发生变化的指标",
                         "The lead KPIs and the KPIs that changed, {name} against {base}"),
    "inputs_caption": ("由情景设定的人数与固定成本（不做检验）", "Staff posts and fixed costs set by the scenario (not tested)"),
    "method_note": ("均值后为95%置信区间。差值为共同随机数下的配对差值（t分布95%置信区间）；"
                    "*表示经Benjamini–Hochberg多重检验校正后p<0.05（错误发现率5%）。",
                    "Means are followed by their 95% CI. Differences are paired on common random numbers "
                    "(Student t 95% CI); * = changed after the Benjamini–Hochberg correction for the number of "
                    "KPIs tested (adjusted p < 0.05, false discovery rate 5%)."),
    "method": ("方法", "method"),
    "means_caption": ("指标均值与95%置信区间（{reps}）", "KPI means and 95% CIs ({reps})"),
    "all_kpis_caption": ("全部指标：均值[95%置信区间]与配对差值", "Every KPI: mean [95% CI] and paired difference"),
    "status_input": ("输入", "input"),
    "status_fixed": ("固定", "fixed"),
    "street": ("街道", "street"),
    "district": ("区", "district"),
    "streets_caption": ("各街道指标（重复均值）", "KPIs by street (mean over replications)"),
    "fig_differences": ("配对差值森林图：相对于基准情景均值的变化及95%置信区间；实心点表示区间不含0，*表示经多重检验校正后仍显著",
                        "Forest plot of paired differences, as change relative to the baseline mean with 95% CIs; "
                        "filled where the CI excludes 0, * where significant after the multiple-testing correction"),
    "fig_kpi_bars": ("各情景主要指标的均值与95%置信区间", "Main KPIs by scenario, mean and 95% CI"),
    "fig_response": ("各指标随参数变化的响应曲线（均值与95%置信区间）：{what}",
                     "Response of the KPIs to a parameter (mean and 95% CI): {what}"),
    "fig_main_effect": ("参数主效应（对其他参数取平均，95%置信区间）：{what}",
                        "Main effect of a parameter (averaged over the others, 95% CI): {what}"),
    "fig_heatmap": ("两个参数下的指标均值热力图：{what}", "KPI means over two parameters: {what}"),
    "fig_scatter": ("各设计点的指标与参数散点图：{what}", "KPI against each parameter, one dot per design point: {what}"),
    "fig_sobol_indices": ("Sobol敏感性指数（一阶与总效应，95%置信区间）", "Sobol sensitivity indices (first order and total, 95% CI)"),
    "fig_morris_indices": ("Morris筛选指数（mu*与sigma）", "Morris screening indices (mu* and sigma)"),
    "fig_by": ("{what}，按{hue}分组", "{what}, by {hue}"),
    "fig_against": ("{x}与{y}", "{x} against {y}"),
    # the sweep's figures (sim.sweep.figures)
    "sweep_title": ("{name}：每个设计点{reps}，均值与95%置信区间", "{name}: {reps} per point, mean and 95% CI"),
    "sweep_heatmap_title": ("{name}：每个设计点{reps}，均值", "{name}: {reps} per point, mean"),
    "main_effect_title": ("{name}：{what}的主效应（对其他参数取平均，95%置信区间）",
                          "{name}: main effect of {what} (mean over the other parameters, 95% CI)"),
    "scatter_title": ("{name}：{kpi}，各设计点均值", "{name}: {kpi}, mean per design point"),
    "sobol_axis": ("Sobol指数（方差占比）", "Sobol index (share of variance)"),
    "morris_axis": ("Morris指数（{unit}）", "Morris index ({unit})"),
    "sobol_title": ("{name}：一阶（S1）与总效应（ST）Sobol指数，95%置信区间",
                    "{name}: first-order (S1) and total (ST) Sobol indices, 95% CI"),
    "morris_title": ("{name}：Morris指数mu*与sigma，95%置信区间", "{name}: Morris mu* and sigma, 95% CI"),
    "fig_backlog": ("未结案件随时间变化", "Backlog over time"),
    "fig_staff_time": ("各岗位工作时间构成", "Staff time by activity and role"),
    "staffing_caption": ("{name}：各岗位人数与年成本", "{name}: posts and yearly cost by role"),
    "file_missing": ("找不到情景文件{file}（在其他目录生成报告时会出现）；假设无法列出。",
                     "Scenario file {file} not found (the report was built from another folder); its assumptions are not listed."),
    "file_not_scenario": ("情景文件{file}已不是可读取的情景文件（运行后被修改）；假设无法列出。",
                          "Scenario file {file} is no longer a scenario file streetsim can read (edited since the "
                          "run); its assumptions are not listed."),
    "file_not_read": ("情景文件{file}不是普通文件或大于1 MB（如命名管道、设备），未读取；假设无法列出。",
                      "Scenario file {file} was not read (not a regular file, such as a named pipe or a device, or larger "
                      "than 1 MB); its assumptions are not listed."),
    "notes_cut": ("以上为部分注释：所有情景文件的注释合计超过{mb} MB，其余未列出（完整注释见{file}本身）。",
                  "Only part of the notes is listed: all scenario files' notes together exceed {mb} MB, and the "
                  "rest are not listed (the full notes are in {file} itself)."),
    "key_path": ("键路径", "key path"),
    "assumption": ("假设", "assumption"),
    "source": ("来源", "source"),
    "assumptions_caption": ("情景文件中注明的假设（# assumption：）", "Assumptions marked in the scenario file (# assumption:)"),
    "sources_caption": ("情景文件中注明的来源", "Sources cited in the scenario file"),
    "fact_experiment": ("实验文件{file}，基础情景{scenario}", "experiment file {file}, base scenario {scenario}"),
    "fact_design": ("设计：{design}，{points}个设计点，共{runs}次运行", "design: {design}, {points} points, {runs} runs"),
    # a sweep's design types (sim.sweep.experiment.Design.type)
    "design_factorial": ("全因子", "factorial"),
    "design_lhs": ("拉丁超立方", "Latin hypercube"),
    "design_sobol": ("Sobol", "Sobol"),
    "design_morris": ("Morris", "Morris"),
    "range_step": ("，步长{step}", ", step {step}"),  # a swept range's step: '100 … 250，步长25'
    "range_num": ("，{n}个水平", ", {n} levels"),
    # a swept parameter's distribution (sim.sweep.experiment.Parameter.dist; uniform says nothing)
    "dist_log_uniform": ("，对数均匀", ", log-uniform"),
    "dist_triangular": ("，三角分布，众数{mode}", ", triangular, mode {mode}"),
    "dist_normal": ("正态，均值{mean}，标准差{sd}", "normal, mean {mean}, sd {sd}"),
    "dist_lognormal": ("对数正态，均值{mean}，标准差{sd}", "lognormal, mean {mean}, sd {sd}"),
    "dist_truncated_normal": ("截断正态，均值{mean}，标准差{sd}，", "truncated normal, mean {mean}, sd {sd}, "),
    "parameter": ("参数", "parameter"),
    "description": ("说明", "description"),
    "values": ("取值", "values"),
    "parameters_caption": ("扫描的参数", "Parameters swept"),
    "parameters_swept": ("扫描的参数（名称，其下为键路径）：", "Parameters swept (name, key path under it):"),  # sweep-results
    "more_points": ("表中列出前{shown}个设计点（共{n}个）；全部见 streetsim sweep-results",
                    "The tables list the first {shown} of the {n} design points; `streetsim sweep-results` lists all"),
    "points_caption": ("各设计点的指标均值与95%置信区间（共{n}个点）", "KPI means and 95% CIs by design point ({n} points)"),
    "sobol_small": ("注意：Sobol估计的基础样本量仅为{n}（建议至少{minimum}），敏感性指数很不精确，可能出现负值；请以置信区间为准。",
                    "Warning: the Sobol estimate rests on a base sample of only {n} (at least {minimum} advised); "
                    "the indices are imprecise and may be negative. Read them with their confidence intervals."),
    "index": ("指数", "index"),
    "value": ("值", "value"),
    "indices_caption": ("敏感性指数（SALib）及95%置信区间", "Sensitivity indices (SALib) with 95% CIs"),
    # the staffing plan (sim/staffing): its report tables and figure
    "scenario_posts": ("情景原有人数", "posts in the scenario"),
    "erlang_c_guess": ("排队论初值（Erlang C）", "Erlang C guess"),
    "answer_posts": ("推荐人数", "posts at the answer"),
    "implied_ratio": ("隐含配比", "implied ratio"),
    "one_fewer": ("再减1人", "one post fewer"),
    "staffing_option": ("方案", "staffing"),
    "target": ("目标", "target"),
    "decision": ("判定", "decision"),
    "answer": ("推荐方案", "answer"),
    "one_fewer_of": ("{role}减1人", "{role} - 1"),
    "decision_met": ("达标", "met"),
    "decision_failed": ("不达标", "failed"),
    "decision_undecided": ("未能判定", "undecided"),
    "status_meets": ("达标", "meets"),
    "status_fails": ("不达标", "fails"),
    "status_undecided": ("未能判定", "undecided"),
    "status_unconfirmed": ("搜索中达标，未经确认", "met in the search, not confirmed"),
    "status_below_floor": ("不能再减（每条线至少1人）", "below the floor (one per line)"),
    "staffing_search_title": ("{name}：所试方案（均值与95%置信区间），星号为推荐方案",
                              "{name}: staffings tried (mean and 95% CI); the answer is the star"),
    "staff_cost_axis": ("人员年成本（万元）", "staff cost per year (10,000 yuan)"),
    "staff_posts_axis": ("人员（各岗位合计人数）", "staff (posts, all roles)"),
    "target_line": ("目标 {op} {bound}", "target {op} {bound}"),
    # the calibration (sim/calibrate): its report tables and figures
    "observed_quantity": ("观测量", "observed quantity"),
    "observed_value": ("观测值 ± 标准差", "observed ± sd"),
    "predicted_mean": ("模型预测均值", "predicted mean"),
    "predicted_interval": ("95%预测区间", "95% prediction interval"),
    "verdict_reproduced": ("已再现（偏离{z}个标准差）", "reproduced ({z} sd off)"),
    "verdict_not_reproduced": ("未再现：校准点偏离{z}个标准差", "not reproduced: {z} sd off at the calibrated point"),
    "verdict_irreconcilable": ("不可调和：参数范围内最近也偏离{z}个标准差",
                               "irreconcilable: {z} sd off at best anywhere in the ranges"),
    "scenario_value": ("情景原值", "scenario value"),
    "prior_range": ("先验范围", "prior range"),
    "scale": ("尺度", "scale"),
    "scale_linear": ("线性", "linear"),
    "scale_log": ("对数", "log"),
    "non_implausible_range": ("非失真范围", "non-implausible range"),
    "calibrated_median": ("校准值（后验中位数）", "calibrated (posterior median)"),
    "posterior_interval": ("后验95%区间", "posterior 95% interval"),
    "wave": ("轮次", "wave"),
    "points": ("参数点数", "points"),
    "runs": ("运行次数", "runs"),
    "ran_now": ("本次运行", "run now"),
    "already_stored": ("复用已存储", "already stored"),
    "failed_runs": ("失败", "failed"),
    "region_share": ("非失真区域占参数范围比例", "share of the ranges non-implausible"),
    "joint_fit": ("联合拟合", "joint fit"),
    "irreconcilable_quantities": ("不可调和的观测量", "irreconcilable quantities"),
    "check_beyond": ("|z| > {z} 的运行比例", "runs with |z| > {z}"),
    "check_max_z": ("最大 |z|", "largest |z|"),
    "check_result": ("检验结果", "check"),
    "check_passed": ("通过", "passed"),
    "check_failed": ("未通过", "FAILED"),
    "check_constant": ("取值恒定，未建仿真器", "constant, not emulated"),
    "check_no_runs": ("无给出数值的运行，未建仿真器", "no run gave a number, not emulated"),
    "check_too_few_points": ("参数点少于{n}个，未检验", "fewer than {n} design points, not checked"),
    # the terminal's calibration summary (streetsim calibrate --lang); the English is its text as
    # it was before it had --lang, short where the report's words above are long
    "calibrate_head": ("{name}：共运行{runs}次（本次运行{ran}次），{waves}轮，用时{seconds}秒；后验有效样本量{ess}",
                       "{name}: {runs} runs ({ran} run now), {waves} waves, {seconds} s; posterior ESS {ess}"),
    "calibrate_no_joint_fit": ("无联合拟合：没有一组参数值能同时拟合全部可调和的观测量；下列数值只是最不失真的，并非拟合结果",
                               "NO JOINT FIT: no parameter values fit every reconcilable quantity at once; the values "
                               "below are the least implausible, not a fit"),
    "calibrate_quantity": ("观测量", "quantity"),
    "calibrate_observed": ("观测值", "observed"),
    "calibrate_predicted": ("预测均值", "predicted"),
    "calibrate_interval": ("95%区间", "95% interval"),
    "calibrate_verdict": ("判定", "verdict"),
    "calibrate_ok": ("已再现", "ok"),
    "calibrate_not_reproduced": ("未再现", "NOT REPRODUCED"),
    "calibrate_irreconcilable": ("不可调和", "IRRECONCILABLE"),
    "calibrate_sd": ("（偏离{z}个标准差）", " ({z} sd)"),
    "calibrate_was": ("情景原值", "was"),
    "calibrate_calibrated": ("校准值", "calibrated"),
    "calibrate_misfit": ("！{quantity}——{verdict}", "! {quantity}: {verdict}"),
    "calibrate_check_ok": ("仿真器检验（留一法）：各观测量超出{z}个标准差的运行至多{share}（{quantity}，第{wave}轮），允许至多{limit}",
                           "emulator check (leave-one-out): at most {share} of a quantity's runs beyond {z} sd ({quantity}, "
                           "wave {wave}); at most {limit} allowed"),
    "calibrate_check_none_beyond": ("仿真器检验（留一法）：没有运行超出{z}个标准差，允许至多{limit}",
                                    "emulator check (leave-one-out): no run beyond {z} sd; at most {limit} allowed"),
    "calibrate_check_failed": ("！{quantity}的仿真器未通过留一法检验（第{waves}轮）：{share}的运行超出{z}个标准差，允许至多{limit}；"
                               "失真度截断与后验不可照单全收",
                               "! EMULATOR CHECK FAILED for {quantity} (wave {waves}): {share} of its runs beyond {z} sd of "
                               "their leave-one-out prediction, at most {limit} allowed; the implausibility cut and the "
                               "posterior are not to be trusted as they stand (emulator_check.csv)"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "none": ("无", "none"),
    # A value a table cannot give (an interval of one replication, a change against a mean of
    # 0, a KPI one scenario lacks). Chinese statistical tables (the NBS yearbooks' conventions)
    # print a dash "—" for "no such figure"; "无" would read as "none", i.e. zero or no change.
    "not_available": ("—", "n/a"),
    # the terminal's comparison (streetsim compare / run of several scenarios), in --lang
    "kpis_changed": ("{name} − {base}：{tested}项指标中{changed}项有变化", "{name} − {base}: {changed} of {tested} KPIs changed"),
    "no_kpi_changed": ("（在5%错误发现率下无指标变化；--all 显示全部指标）",
                       "(no KPI changed at the 5% false discovery rate; --all shows every KPI)"),
    "footer_means": ("均值：重复间的95%置信区间（比例与评分用Wilson区间，计数用精确泊松区间，其余用t分布或BCa自助法）。",
                     "Means: 95% CI over replications (Wilson for shares and scores, exact Poisson for counts, "
                     "Student t or BCa bootstrap for the rest)."),
    "footer_differences": ("Δ = 共同随机数下的配对差值，95%置信区间用t分布；Δ % = 相对第一个情景的变化。"
                           "* = 有变化：经Benjamini–Hochberg校正（所检验指标，错误发现率5%）后p < 0.05。",
                           "Δ = paired difference on common random numbers, 95% CI by Student t; Δ % = relative to "
                           "the first scenario. * = changed: Benjamini–Hochberg adjusted p < 0.05 over the KPIs "
                           "tested (5% false discovery rate)."),
    "per_district_means": ("各区（重复间均值）：", "per district (mean over replications):"),
    "per_street_means": ("各街镇（重复间均值）：", "per street (mean over replications):"),
    "footer_ranked": ("按|Δ %|排序；--all 显示全部指标。", " Ranked by |Δ %|; --all: every KPI."),
    "observed_with_discrepancy": ("观测值 ± 2个标准差（含模型偏差）", "observed ± 2 sd (with discrepancy)"),
    "observed_2sd": ("观测值 ± 2个标准差", "observed ± 2 sd"),
    "calibrated_model_interval": ("校准模型，95%预测区间", "calibrated model, 95% interval"),
    "observed_tick": ("观测", "observed"),
    "model_tick": ("模型", "model"),
    "not_reproduced": ("未再现", "not reproduced"),
    "posterior": ("后验", "posterior"),
    "calibrated_median_line": ("校准值（中位数）", "calibrated (median)"),
    "scenario_before": ("情景原值", "scenario before"),
    "fact_version": ("streetsim版本{version}，Python {python}", "streetsim {version}, Python {python}"),
    "fact_started": ("运行时间{time}", "run started {time}"),
    "fact_command": ("复现命令：", "Command to reproduce:"),
    # -- the browser view (sim/viz): page, controls, map, charts --
    "app_title": ("街道治理仿真", "streetsim: the street"),
    "sim_day": ("模拟第几天", "day"),
    "busiest_utilisation": ("最忙岗位忙碌率", "busiest role's utilisation"),
    "language": ("语言", "language"),
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
    "changed_pending": ("已调整，按“重置”生效", "changed: press Reset to apply"),
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
    "street_office": ("街道办（网格中心、受理中心）", "street office (grid centre, acceptance centre)"),
    "committee_office": ("居委会", "residents' committee"),
    "enforcement_officer": ("执法人员", "enforcement officer"),
    "staff_on_map": ("人员", "staff"),
    "open_case_step": ("未结案件所处环节", "open case: step"),
    "deadline": ("期限", "deadline"),
    "within_deadline": ("未超期", "within deadline"),
    "overdue": ("已超期", "overdue"),
    "backlog_by_step": ("各环节积压案件", "open cases by step"),
    "on_time_so_far": ("按时解决率（居民口径，累计）", "on time as residents see it, so far"),
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
                return _of(_pick(names, lang), label(key[len(prefix):], lang), lang)
    return key.replace("_", " ")


def _of(what: str, whose: str, lang: str) -> str:
    """A quantity of a role or case type: '党群工作者忙碌率', 'utilisation, party-mass workers'."""
    return f"{whose}{what}" if lang == "zh" else f"{what}, {whose}"


def text_with_unit(text: str, unit_words: str, lang: str = "en") -> str:
    """A text followed by its unit in brackets, full-width in Chinese: 'servers需排队比例 ≤ 0.3（比例）',
    'share of jobs that waited, servers ≤ 0.3 (share)'; the text alone when there is no unit."""
    if not unit_words:
        return text
    return f"{text}（{unit_words}）" if lang == "zh" else f"{text} ({unit_words})"


def parameter_label(key_path: str, lang: str = "en", with_unit: bool = True) -> str | None:
    """The planner's name of a scenario number, with its unit ('市容环境发生率（件/人·年）'), or None
    when the table has none (then its key path is its name)."""
    parts = key_path.split(".")
    for pattern, names in PARAMETERS.items():
        steps = pattern.split(".")
        if len(steps) == len(parts) and all(s in ("*", p) for s, p in zip(steps, parts)):
            whose = [label(p, lang) for s, p in zip(steps, parts) if s == "*"]
            text = _of(_pick(names, lang), whose[0], lang) if whose else _pick(names, lang)
            return text_with_unit(text, _pick(UNITS[names[2]], lang) if names[2] and with_unit else "", lang)
    return None


def key_path_name(key_path: str, lang: str = "en", with_unit: bool = True, own_label: str | None = None) -> str | None:
    """What a scenario key is, for a table that lists key paths: the parameter's name
    (``parameter_label``), else the author's ``own_label`` (an experiment's, in one language),
    else the name of the lever it belongs to, else None."""
    named = parameter_label(key_path, lang, with_unit) or own_label
    if named is None and key_path.startswith("levers."):
        lever = key_path.split(".")[1]
        named = _pick(LEVERS[lever], lang) if lever in LEVERS else None
    return named


def short_name(key_path: str, lang: str = "en", own_label: str | None = None) -> str:
    """A swept key in a legend, a tick, a title or a column: its own name without its unit, else
    the author's ``own_label``, else its key path (not its lever's name, which two keys of one
    lever share and which names no one key)."""
    return parameter_label(key_path, lang, with_unit=False) or own_label or key_path


def named_key_path(key_path: str, lang: str = "en", own_label: str | None = None) -> str:
    """A key path under its name (``key_path_name``), for tables and figures that show swept or
    differing scenario keys: the reader of a proposal knows the name, the analyst finds the key.
    A key with no name is its key path alone."""
    name = key_path_name(key_path, lang, own_label=own_label)
    return f"{name}\n{key_path}" if name else key_path


def unit_key(key: str) -> str:
    """The unit key of a KPI ('share', 'cases', 'hours', ... or '' when unknown): it tells the
    kind of quantity, e.g. which confidence interval fits (:mod:`sim.intervals`)."""
    if key in KPIS:
        return KPIS[key][2]
    for prefixes in (ROLE_KPI_PREFIXES, TYPE_KPI_PREFIXES):
        for prefix, names in sorted(prefixes.items(), key=lambda kv: -len(kv[0])):
            if key.startswith(prefix):
                return names[2]
    return ""


def unit(key: str, lang: str = "en") -> str:
    """The unit of a KPI, in words ('' when it has none)."""
    u = unit_key(key)
    return _pick(UNITS[u], lang) if u else ""


def label_with_unit(key: str, lang: str = "en") -> str:
    """'mean queue wait, party-mass workers (hours)': an axis or table label."""
    return text_with_unit(label(key, lang), unit(key, lang), lang)


def word(key: str, lang: str = "en", **fields) -> str:
    """A word or phrase of tables, figures and the report, with ``{fields}`` filled in."""
    return _pick(WORDS[key], lang).format(**fields)


def replications_text(n, lang: str = "en") -> str:
    """'1 replication', '10 replications' ('10次重复'); ``n`` may be '?' when a folder does not say."""
    return word("one_replication" if n == 1 else "n_replications", lang, n=n)


def join_list(items, lang: str = "en") -> str:
    """Items listed in a text or a table cell, every list alike: '是、否' in Chinese, which sets
    listed words apart with the enumeration comma (顿号) where English has ', '. Items with a
    comma (or, in Chinese, an enumeration comma) of their own are set apart by semicolons ('；',
    '; '), as both languages' rules have it, so 'utilisation, party-mass workers' stays one item."""
    items = [str(i) for i in items]
    if any(mark in i for i in items for mark in _pick(("，、", ","), lang)):
        return join_clauses(items, lang)
    return _pick(("、", ", "), lang).join(items)


def join_clauses(clauses, lang: str = "en") -> str:
    """Clauses of one sentence, set apart by the semicolon: full-width '；' in Chinese, '; ' in
    English ('servers：4人（…）；clerks：2人（…）')."""
    return _pick(("；", "; "), lang).join(str(c) for c in clauses)


def is_input(key: str) -> bool:
    """Staff posts are fixed by the scenario: inputs, not outcomes."""
    return key in INPUT_KPIS or (key.startswith(INPUT_KPI_PREFIXES) and unit_key(key) == "people")
