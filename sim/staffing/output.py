"""What the planner prints and writes: the answer, its guarantee, tables, a figure, report.json.

Files in ``--out`` (the sweep store of every run sits in ``runs/`` beside them):

    staffing.csv   one row per chosen role: scenario posts, Erlang C guess, answer, implied ratio,
                   the nearest cheaper staffing and the target it fails
    targets.csv    each target at the answer and at each nearest cheaper staffing: mean, 95% CI,
                   the one-sided bound used, the decision, constant (the KPI gave one value in
                   every replication up to the cap: taken as it is, as the guarantee says), replications
    tried.csv      every staffing the search evaluated: counts, cost per year, status, each target
    figures/staffing_search_<lang>.png|svg|pdf   cost per year against each target, the answer
                   marked, in Chinese (zh) and English (en)
    report.json    sections for ``streetsim report`` (Chinese and English); report_*_<lang>.csv: its
                   narrow tables, headers and words in the report's language
    manifest.json  command, seed, settings, runs used, wall time
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from sim.cells import ci_cell, terminal_number
from sim.labels import LANGS, join_clauses, join_list, label, label_with_unit, text_with_unit, unit, word
from sim.report import per_language
from sim.results_folder import FIGURE_FORMATS, REPORTS, write_atomic
from sim.staffing.evaluate import UNCONFIRMED
from sim.staffing.targets import posts_of

FIGURE = "figures/staffing_search_{lang}"  # one drawing per language: matplotlib text is not translated later


def ratio_text(role, posts: int, street, lang: str = "en") -> str:
    """The staffing in the reform's own terms: '1 per 172 two-new organisations', or 'N posts'."""
    if role.per is not None and role.of is not None:
        units = getattr(street, role.of)
        what = label(f"unit_{role.of}", lang)  # zh carries its measure word: 个两新组织
        if role.each > 1:
            per_unit = posts / units
            return f"每{what}{per_unit:.2g}人" if lang == "zh" else f"{per_unit:.2g} per {what.rstrip('s')}"
        return f"每{units / posts:.0f}{what}配1人" if lang == "zh" else f"1 per {units / posts:.0f} {what}"
    return f"{posts}人" if lang == "zh" else f"{posts} posts"


def scenario_rule_text(role, posts: int, lang: str = "en") -> str:
    if role.per is not None and role.of is not None:
        what = label(f"unit_{role.of}", lang)
        if role.each > 1:
            return f"每{what}{role.each}人" if lang == "zh" else f"{role.each} per {what.rstrip('s')}"
        return f"每{role.per:g}{what}配1人" if lang == "zh" else f"1 per {role.per:g} {what}"
    return f"{posts}人" if lang == "zh" else f"{posts} posts"


OP_SIGNS = {">=": "≥", "<=": "≤"}  # a target's comparison as printed


def target_text(t, lang: str = "en") -> str:
    """A target in words: 'on time, as residents see it ≥ 0.9 (share)', '按时解决率（居民口径） ≥ 0.9（比例）'."""
    return text_with_unit(f"{label(t.kpi, lang)} {OP_SIGNS[t.op]} {t.bound:g}", unit(t.kpi, lang), lang)


def staffing_table(plan) -> pd.DataFrame:
    rows = []
    res = plan.result
    for i, r in enumerate(plan.roles):
        role = plan.settings.staffing[r]
        chosen = res.chosen.staffing[i]
        cheaper = res.cheaper.get(r)
        rows.append({
            "role": r, "role_zh": label(r, "zh"), "role_en": label(r, "en"),
            "scenario_posts": plan.scenario_posts[i], "scenario_rule": scenario_rule_text(role, plan.scenario_posts[i]),
            "erlang_c_guess": plan.guess[i], "guess_rule": plan.loads[r].rule,
            "offered_load_posts": round(plan.loads[r].load, 3),
            "posts": chosen, "implied_ratio": ratio_text(role, chosen, plan.settings.street),
            "implied_ratio_zh": ratio_text(role, chosen, plan.settings.street, "zh"),
            "cost_per_post_per_year": role.cost_per_year, "role_cost_per_year": chosen * role.cost_per_year,
            "one_fewer_posts": chosen - 1 if cheaper is not None else None,
            "one_fewer_status": cheaper.status if cheaper is not None else "below the floor (one per line)",
            "one_fewer_fails": "; ".join(cheaper.failing()) if cheaper is not None and not cheaper.feasible else "",
        })  # fmt: skip
    return pd.DataFrame(rows)


def staffings_compared(plan) -> list[tuple[str | None, object]]:
    """The answer (None) and each role's nearest cheaper staffing that was evaluated."""
    res = plan.result
    return [(None, res.chosen)] + [(r, e) for r, e in res.cheaper.items() if e is not None]


def targets_table(plan) -> pd.DataFrame:
    rows = []
    for role, ev in staffings_compared(plan):
        name = "answer" if role is None else f"{role} - 1"
        for t in plan.targets:
            c = ev.checks[str(t)]
            rows.append({"staffing": name, **dict(zip(plan.roles, ev.staffing)), "target": str(t), "kpi": t.kpi,
                         "kpi_en": label(t.kpi, "en"), "kpi_zh": label(t.kpi, "zh"), "unit": unit(t.kpi, "en"),
                         "mean": c.mean, "ci95_low": c.ci_low, "ci95_high": c.ci_high, "decision_bound": c.bound,
                         "decision": c.decision, "constant": bool(c.constant), "replications": c.n})  # fmt: skip
    return pd.DataFrame(rows)


def tried_table(plan) -> pd.DataFrame:
    rows = []
    for ev in sorted(plan.result.tried, key=lambda e: plan.cost(e.staffing)):
        row = {**dict(zip(plan.roles, ev.staffing)), "cost_per_year": plan.cost(ev.staffing)[0],
               "status": ev.status, "replications": ev.n, "answer": ev.staffing == plan.result.chosen.staffing}  # fmt: skip
        for key, c in ev.checks.items():
            row[f"{key} mean"], row[f"{key} ci95_low"], row[f"{key} ci95_high"] = c.mean, c.ci_low, c.ci_high
        rows.append(row)
    return pd.DataFrame(rows)


def guarantee(plan, lang: str = "en") -> str:
    """What the answer is shown to do, as the search found it: confirmed at once or after posts
    were added, its one-fewer neighbours failing or met in the search but unconfirmed, and any
    target whose KPI never varied (taken as it is, with no confidence level)."""
    res = plan.result
    k, looks, n = len(plan.targets), len(plan.evaluator.looks), res.chosen.n
    conf = 1 - plan.alpha
    stepped = len(res.confirmations) > 1
    unconfirmed = [r for r, e in res.cheaper.items() if e is not None and e.status == UNCONFIRMED]
    others = [r for r, e in res.cheaper.items() if e is not None and e.status != UNCONFIRMED]
    constant = [target_text(t, lang) for t in plan.targets if res.chosen.checks[str(t)].constant]
    kept = [(t, r) for t in plan.targets if (r := posts_of(t, plan.settings.staffing)) and r not in plan.roles]
    fixed = [target_text(t, lang) for t, _ in kept]  # a role not searched keeps its posts (sim.staffing.targets)
    fixed_roles = [label(r, lang) for _, r in kept]
    fixed_roles = list(dict.fromkeys(fixed_roles))
    if lang == "zh":
        how = ("搜索选出的方案未能用新的重复运行确认，推荐编制为在其未达标的岗位增加人员后的方案，" if stepped else
               "搜索选出的方案") + f"另用{n}次新的重复运行（搜索未用过的随机数）确认"
        fewer = []
        if unconfirmed:
            fewer.append(f"{'、'.join(label(r, 'zh') for r in unconfirmed)}再减1人的方案在搜索中达标但未经确认")
        if others:
            fewer.append(f"{'、'.join(label(r, 'zh') for r in others)}再减1人的方案未能证明达标")
        which = f"除{'、'.join(constant + fixed)}外每项指标" if constant or fixed else "每项指标"
        same = f"；{'、'.join(constant)}在各次重复中取值相同，按其值判定，不附置信度" if constant else ""
        if fixed:
            same += f"；{'、'.join(fixed)}不随搜索变化（{'、'.join(fixed_roles)}不在搜索的岗位之列，保持情景中的人数）"
        return (f"推荐编制下{which}均以不低于{conf:.0%}的置信度达标：{how}（单侧t置信界，按{k}项指标×{looks}次检验做"
                "Bonferroni校正，依次确认的显著性水平为α/2、α/4、α/8，故整个搜索把未达标方案报为达标的概率不超过α）"
                f"{same}" + "".join(f"；{f}" for f in fewer) + "。搜索中各方案使用相同随机数（共同随机数）。")
    how = ("the search's choice was not confirmed on fresh replications; the answer, with posts added where its "
           f"targets missed, was confirmed on {n} fresh replications" if stepped else
           f"the search's choice was confirmed on {n} fresh replications the search never saw")
    fewer = []
    if unconfirmed:
        fewer.append(f"with one post fewer on {', '.join(label(r, 'en') for r in unconfirmed)}, the targets were met "
                     "in the search but not confirmed")
    if others:
        fewer.append(f"with one post fewer on {'any chosen role' if not unconfirmed else ', '.join(label(r, 'en') for r in others)}, "
                     "the targets are not shown to be met")
    which = "every other target" if constant or fixed else "every target"
    same = (f"; {join_list(constant, 'en')} gave the same value in every replication up to the cap and "
            f"{'is taken as it is' if len(constant) == 1 else 'are taken as they are'}, with no confidence level"
            if constant else "")
    if fixed:
        same += (f"; {join_list(fixed, 'en')} {'is' if len(fixed) == 1 else 'are'} not moved by the search "
                 f"({join_list(fixed_roles, 'en')} {'keeps its' if len(fixed_roles) == 1 else 'keep their'} posts as the "
                 "scenario has them)")
    return (f"At the answer, {which} is met with at least {conf:.0%} confidence: {how} (one-sided t bounds, "
            f"Bonferroni over {k} targets x {looks} looks at n = {', '.join(map(str, plan.evaluator.looks))}; the j-th "
            "confirmation at level alpha/2^j, so over the whole search a staffing that misses a target is given as the "
            f"answer with probability at most alpha){same}" + "".join(f"; {f}" for f in fewer)
            + ". In the search every staffing ran on common random numbers.")


def print_answer(plan) -> None:
    res, s = plan.result, plan.settings
    print(f"\n{s.name}: staffing for {', '.join(map(str, plan.targets))}")
    print(f"{'role':<22} {'scenario':>22} {'Erlang C':>9} {'answer':>7}  implied ratio")
    for i, r in enumerate(plan.roles):
        role = s.staffing[r]
        print(f"{r:<22} {scenario_rule_text(role, plan.scenario_posts[i]):>22} {plan.guess[i]:>9} "
              f"{res.chosen.staffing[i]:>7}  {ratio_text(role, res.chosen.staffing[i], s.street)}")  # fmt: skip
    cost = plan.cost(res.chosen.staffing)[0]
    base = plan.cost(plan.scenario_posts)[0]
    print(f"cost per year (all staff): {terminal_number(cost)} yuan (scenario as written: {terminal_number(base)} yuan)")
    print(f"\n{'target':<40} {'mean':>10} {'95% CI':>24}  at the answer ({res.chosen.n} replications)")
    for t in plan.targets:
        c = res.chosen.checks[str(t)]
        print(f"{str(t):<40} {terminal_number(c.mean):>10} [{terminal_number(c.ci_low):>10}, {terminal_number(c.ci_high):>10}]  {c.decision}")
    print("\nnearest cheaper staffings:")
    for r, ev in res.cheaper.items():
        if ev is None:
            print(f"  {r}: cannot go lower (one post per line)")
            continue
        fails = ", ".join(f"{k} ({terminal_number(ev.checks[k].mean)})" for k in ev.failing())
        verb = {"fails": "fails", UNCONFIRMED: "met in the search, not confirmed"}.get(ev.status, "not shown to meet")
        print(f"  {r} = {ev.staffing[plan.roles.index(r)]}: {verb}" + (f" {fails}" if fails else ""))
    print("\n" + guarantee(plan))
    print(f"{len(res.tried)} staffings tried, {len(plan.evaluator.runs_used)} simulation runs "
          f"({plan.evaluator.runs_new} run now, the rest reused from {plan.store_dir}); {plan.seconds:.0f} s")  # fmt: skip


REPORT_STAFFING = "report_staffing_{lang}.csv"
REPORT_TARGETS = "report_targets_{lang}.csv"


def report_staffing_table(plan, lang: str) -> pd.DataFrame:
    """staffing.csv narrowed for a report page, every header and word in ``lang``."""
    res, s = plan.result, plan.settings
    rows = []
    for i, r in enumerate(plan.roles):
        chosen, cheaper = res.chosen.staffing[i], res.cheaper.get(r)
        status = cheaper.status if cheaper is not None else "below_floor"
        rows.append({word("role", lang): label(r, lang), word("scenario_posts", lang): plan.scenario_posts[i],
                     word("erlang_c_guess", lang): plan.guess[i], word("answer_posts", lang): chosen,
                     word("implied_ratio", lang): ratio_text(s.staffing[r], chosen, s.street, lang),
                     word("one_fewer", lang): word(f"status_{status}", lang)})  # fmt: skip
    return pd.DataFrame(rows)


def report_targets_table(plan, lang: str) -> pd.DataFrame:
    """targets.csv narrowed for a report page, every header and word in ``lang``."""
    rows = []
    for role, ev in staffings_compared(plan):
        name = word("answer", lang) if role is None else word("one_fewer_of", lang, role=label(role, lang))
        for t in plan.targets:
            c = ev.checks[str(t)]
            rows.append({word("staffing_option", lang): name, word("target", lang): target_text(t, lang),
                         word("mean", lang): c.mean, word("ci95", lang): ci_cell(c.ci_low, c.ci_high, lang),
                         word("decision", lang): word(f"decision_{c.decision}", lang),
                         word("replications", lang): c.n})  # fmt: skip
    return pd.DataFrame(rows)


def report_tables(plan) -> dict[str, pd.DataFrame]:
    """Narrow tables for a report page, one per language (the full tables have too many columns
    to typeset, and their English field names and words are for other tools, not a reader)."""
    tables = {}
    for lang in LANGS:
        tables[REPORT_STAFFING.format(lang=lang)] = report_staffing_table(plan, lang)
        tables[REPORT_TARGETS.format(lang=lang)] = report_targets_table(plan, lang)
    return tables


TABLES = ("staffing.csv", "targets.csv", "tried.csv")


def answer_files() -> list[str]:
    """Every file ``write`` writes (the runs and the model code record are the search's), and the
    PDFs ``streetsim report`` typesets from them."""
    tables = [*TABLES, *(name.format(lang=lang) for lang in LANGS for name in (REPORT_STAFFING, REPORT_TARGETS))]
    figs = [f"{FIGURE.format(lang=lang)}.{fmt}" for lang in LANGS for fmt in FIGURE_FORMATS]
    return [*tables, *figs, "report.json", "manifest.json", *REPORTS]


def remove_answer(out: Path) -> None:
    """Another request's answer, removed from ``out`` before a search there: if that search fails
    or is stopped, nothing is left to be read as its answer (nor a figures/ folder that would make
    the folder another command's). Only what ``answer_files`` names."""
    names = answer_files()  # the manifest last: until it goes, the folder is still the planner's
    for name in [n for n in names if n != "manifest.json"]:
        (out / name).unlink(missing_ok=True)
    try:
        (out / Path(FIGURE).parent).rmdir()  # only if empty
    except OSError:  # not empty (another file put there), or gone (another shard removed it)
        pass
    (out / "manifest.json").unlink(missing_ok=True)


def write(plan, out: Path) -> list[str]:
    files = dict(zip(TABLES, (staffing_table(plan), targets_table(plan), tried_table(plan))))
    files.update(report_tables(plan))
    for name, table in files.items():
        write_atomic(out / name, lambda p, t=table: t.to_csv(p, index=False, float_format="%.10g"))
    figures = draw(plan, out)
    _write_json(out / "report.json", report(plan))
    _write_json(out / "manifest.json", plan.manifest())
    return [*files, *figures, "report.json", "manifest.json"]


def _write_json(path: Path, data: dict) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
    write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def draw(plan, out: Path) -> list[str]:
    """The search figure in each language (the report takes the one in its own language)."""
    from sim import figures

    files = []
    for lang in LANGS:
        drawn = figures.use_language(lang)  # English with a warning when no CJK font is installed
        files += draw_search(plan, out, FIGURE.format(lang=lang), drawn)
    return files


def draw_search(plan, out: Path, stem: str, lang: str) -> list[str]:
    """Cost per year against each target, every staffing tried, the answer marked. Drawn at the
    A4 text width, its text at print size (drawn 13.8 in wide, it printed at ~3.7 pt), and never
    taller than the page: with many targets the panels get lower, none is left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.figures import FONT_PT, FULL_WIDTH_IN, TEXT_HEIGHT_IN, TITLE_LINE_IN, TITLE_PT, save

    tried = plan.result.tried
    n = len(plan.targets)
    priced = any(plan.cost(e.staffing)[0] > 0 for e in tried)  # no costs in the scenario: plot posts

    def xpos(staffing):
        return plan.cost(staffing)[0] / 1e4 if priced else plan.cost(staffing)[1]

    cols = min(n, 2)
    rows = math.ceil(n / cols)
    panel_in = min(2.6, (TEXT_HEIGHT_IN - TITLE_LINE_IN) / rows)
    fig, axes = plt.subplots(rows, cols, figsize=(FULL_WIDTH_IN, TITLE_LINE_IN + panel_in * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    colours = {"meets": "#55a868", "fails": "#c44e52", "undecided": "#999999"}
    for ax, t in zip(axes.flat, plan.targets):
        for status, colour in colours.items():
            pts = [e for e in tried if e.status == status]
            if not pts:
                continue
            x = [xpos(e.staffing) for e in pts]
            y = [e.checks[str(t)].mean for e in pts]
            err = [[max(0.0, e.checks[str(t)].mean - e.checks[str(t)].ci_low) for e in pts],
                   [max(0.0, e.checks[str(t)].ci_high - e.checks[str(t)].mean) for e in pts]]  # fmt: skip
            err = [[0 if v != v else v for v in side] for side in err]
            ax.errorbar(x, y, yerr=err, fmt="o", color=colour, ms=4, capsize=2, label=word(f"status_{status}", lang))
        best = plan.result.chosen
        ax.plot([xpos(best.staffing)], [best.checks[str(t)].mean], marker="*", ms=16,
                color="#1f1f1f", linestyle="none", label=word("answer", lang))  # fmt: skip
        ax.axhline(t.bound, color="#4c72b0", linestyle="--", linewidth=1,
                   label=word("target_line", lang, op=OP_SIGNS[t.op], bound=f"{t.bound:g}"))  # fmt: skip
        ax.set_ylabel(label_with_unit(t.kpi, lang), fontsize=FONT_PT)
        ax.set_xlabel(word("staff_cost_axis" if priced else "staff_posts_axis", lang), fontsize=FONT_PT)
        ax.tick_params(labelsize=FONT_PT)
        ax.legend(fontsize=FONT_PT)
    fig.suptitle(word("staffing_search_title", lang, name=plan.settings.name), fontsize=TITLE_PT)
    fig.tight_layout()
    return [str(p.relative_to(out)) for p in save(fig, out, stem)]


def report(plan) -> dict:
    """Sections in the ``streetsim report`` contract, in Chinese and English."""
    res, s = plan.result, plan.settings
    lines = {"zh": [], "en": []}
    for i, r in enumerate(plan.roles):
        role = s.staffing[r]
        n = res.chosen.staffing[i]
        was = {lang: scenario_rule_text(role, plan.scenario_posts[i], lang) for lang in LANGS}
        lines["zh"].append(word("named", "zh", name=label(r, "zh"),
                                what=f"{n}人（{ratio_text(role, n, s.street, 'zh')}；情景原为{was['zh']}）"))  # fmt: skip
        lines["en"].append(word("named", "en", name=label(r, "en"),
                                what=f"{n} ({ratio_text(role, n, s.street)}; the scenario has {was['en']})"))  # fmt: skip
    cost = plan.cost(res.chosen.staffing)[0]
    named = {lang: join_list((target_text(t, lang) for t in plan.targets), lang) for lang in ("zh", "en")}
    method = {
        "zh": "方法：先用排队论（Erlang C）按试运行测得的各岗位到达率、处理时长和工作日历给出初值；再在初值附近用共同随机数仿真，"
              "每个方案逐步增加重复次数，直到每项指标的单侧置信界判定达标或不达标；逐岗位向下搜索，取达标方案中成本最低者，"
              "再用搜索未用过的新重复运行确认。",
        "en": "Method: a first guess per role from queueing theory (Erlang C on the arrival rate, handling time and calendar "
              "measured in a pilot run), then simulation around it on common random numbers, adding replications to each "
              "staffing until each target's one-sided confidence bound decides it; a coordinate search down from the guess, "
              "role by role; the least-cost staffing shown to meet every target, confirmed on fresh replications the "
              "search never used.",
    }  # fmt: skip
    return {
        "title": {lang: word("named", lang, name=s.name, what=word("kind_staffing", lang)) for lang in LANGS},
        "sections": [
            {
                "heading": {"zh": "推荐编制", "en": "Recommended staffing"},
                "text": {
                    "zh": f"目标：{named['zh']}。" + join_clauses(lines["zh"], "zh") + f"。全部人员年成本{terminal_number(cost)}元。" + guarantee(plan, "zh"),
                    "en": f"Targets: {named['en']}. " + join_clauses(lines["en"], "en") + f". Staff cost per year (all roles): {terminal_number(cost)} yuan. "
                          + guarantee(plan, "en"),
                },  # fmt: skip
                "tables": [
                    {"caption": {"zh": "推荐编制与隐含配比", "en": "Staffing and implied ratios"},
                     "csv": per_language(REPORT_STAFFING)},
                    {"caption": {"zh": "推荐编制及减员方案下的各项指标（均值与95%置信区间）",
                                 "en": "Each target at the answer and with one post fewer (mean, 95% CI)"},
                     "csv": per_language(REPORT_TARGETS)},
                ],  # fmt: skip
                "figures": [{"caption": {"zh": "所试方案的成本与各项指标（星号为推荐方案）",
                                         "en": "Cost against each target over the staffings tried (star: the answer)"},
                             "file": per_language(FIGURE + ".png")}],  # fmt: skip
            },
            {
                "heading": {"zh": "测算方法", "en": "Method"},
                "text": {"zh": method["zh"] + f"共试{len(res.tried)}个方案、{len(plan.evaluator.runs_used)}次仿真运行。",
                         "en": method["en"] + f" {len(res.tried)} staffings tried, {len(plan.evaluator.runs_used)} simulation runs."},
                "tables": [],  # tried.csv has a column per target and bound: too wide for a page; the figure shows it
                "figures": [],
            },
        ],
    }
