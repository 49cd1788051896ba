"""Machines whose sound follows a time pattern: switching cycles, strokes, passing rail joints
(valve, slider, ToyTrain, ToyNscale)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import oaconvolve

from .. import dsp
from .base import Ctx, flutter, impacts_per_turn, mic_gain, model, noise_band, speed_curve

# pattern -> (cycle seconds, [(open, close) seconds within the cycle])
VALVE_PATTERNS = {
    "00": (0.50, [(0.0, 0.20)]),
    "01": (0.60, [(0.0, 0.10), (0.25, 0.35)]),
    "02": (0.40, [(0.0, 0.25)]),
    "03": (0.75, [(0.0, 0.15), (0.30, 0.40), (0.50, 0.55)]),
}
VALVE_OPEN = ([1850.0, 4300.0], [0.006, 0.003], [1.0, 0.6])
VALVE_CLOSE = ([1250.0, 2900.0, 5200.0], [0.009, 0.004, 0.002], [1.0, 0.7, 0.4])
VALVE_JITTER_S = 0.004
PUMP_HZ = 24.5


def _gate(n: int, sr: int, opens: np.ndarray, closes: np.ndarray, ramp_s: float = 0.01) -> np.ndarray:
    """1 while the valve is open, 0 while closed, with short smooth ramps."""
    steps = np.zeros(n + 1)
    np.add.at(steps, np.clip(np.rint(opens * sr).astype(np.int64), 0, n), 1.0)
    np.add.at(steps, np.clip(np.rint(closes * sr).astype(np.int64), 0, n), -1.0)
    gate = np.clip(np.cumsum(steps)[:n], 0.0, 1.0)
    ramp = np.hanning(max(3, int(ramp_s * sr)))
    return np.clip(oaconvolve(gate, ramp / ramp.sum(), mode="same"), 0.0, 1.0)


@model("valve")
def valve(ctx: Ctx) -> np.ndarray:
    rng, sr = ctx.rng, ctx.sr
    cycle, spans = VALVE_PATTERNS[ctx.attrs["pat"]]
    jitter = VALVE_JITTER_S + ctx.fault("timing")
    starts = -rng.uniform(0.0, cycle) + cycle * np.arange(int(np.ceil(ctx.duration / cycle)) + 2)
    opens = (starts[:, None] + np.array([s[0] for s in spans])[None, :]).ravel()
    closes = (starts[:, None] + np.array([s[1] for s in spans])[None, :]).ravel()
    opens = opens + jitter * rng.standard_normal(len(opens))
    closes = np.maximum(closes + jitter * rng.standard_normal(len(closes)), opens + 0.02)
    contam = ctx.fault("contamination")
    open_k = dsp.resonance_kernel([fr * (1 - contam) for fr in VALVE_OPEN[0]], [d * (1 + 5 * contam) for d in VALVE_OPEN[1]], VALVE_OPEN[2], sr)
    close_k = dsp.resonance_kernel([fr * (1 - contam) for fr in VALVE_CLOSE[0]], [d * (1 + 5 * contam) for d in VALVE_CLOSE[1]], VALVE_CLOSE[2], sr)
    clicks = dsp.impact_train(ctx.n, opens * sr, 0.8 * (1 + 0.1 * rng.standard_normal(len(opens))), open_k)
    clicks += dsp.impact_train(ctx.n, closes * sr, 1.2 * (1 + 0.1 * rng.standard_normal(len(closes))), close_k)
    if ctx.anomaly == "timing":  # worn armature: contact bounce after some closings
        bounce = closes[rng.uniform(size=len(closes)) < 0.7] + rng.uniform(0.015, 0.035)
        clicks += dsp.impact_train(ctx.n, bounce * sr, 0.8, close_k)
    gate = _gate(ctx.n, sr, opens, closes)
    hiss = noise_band(ctx, 800.0, 3500.0 * (1 - 3 * contam))
    flow = hiss * (gate * (1.0 - 2.0 * contam) + ctx.fault("leak") * (1.0 - gate))
    pump_phase = dsp.phase_from_freq(speed_curve(ctx, PUMP_HZ), ctx.n, sr, rng.uniform(0, dsp.TWO_PI))
    pump = dsp.harmonic_osc(rng, pump_phase, dsp.harmonic_amps(PUMP_HZ, sr, slope_db=-3.0, peaks=[(400.0, 150.0, 6.0)], max_harmonics=40))
    return dsp.unit_rms(4.0 * clicks + 0.35 * flow + 0.3 * pump)


SLIDER_STROKE_M = 0.4
SLIDER_PAUSE_S = 0.15
SLIDER_SCREW_PITCH_M = 0.005
SLIDER_DAMAGE_AT_M = (0.12, 0.31)


def _stroke_velocity(t: np.ndarray, v: float, ac: float) -> tuple[np.ndarray, float, float]:
    """Trapezoid velocity profile out and back; returns velocity, stroke time and cycle time."""
    t_acc = float(np.clip(0.02 / ac, 0.05, 0.45))
    t_cruise = max(SLIDER_STROKE_M - v * t_acc, 0.0) / v
    stroke = 2 * t_acc + t_cruise
    cycle = 2 * (stroke + SLIDER_PAUSE_S)
    back = stroke + SLIDER_PAUSE_S
    knots_t = [0, t_acc, t_acc + t_cruise, stroke, back, back + t_acc, back + t_acc + t_cruise, back + stroke, cycle]
    knots_v = [0, v, v, 0, 0, -v, -v, 0, 0]
    return np.interp(np.mod(t, cycle), knots_t, knots_v), stroke, cycle


@model("slider")
def slider(ctx: Ctx) -> np.ndarray:
    rng, f, sr = ctx.rng, ctx.freqs, ctx.sr
    v, ac = float(ctx.attrs["vel"]) / 1000.0, float(ctx.attrs["ac"])
    offset = rng.uniform(0.0, 3.0)  # start anywhere in the cycle, position stays consistent
    skip = int(offset * sr)
    t_all = np.arange(ctx.n + skip) / sr
    vel_all, stroke, cycle = _stroke_velocity(t_all, v, ac)
    pos_all = np.cumsum(vel_all) / sr
    vel, pos = vel_all[skip:], pos_all[skip:]
    slack = ctx.fault("belt_slack")
    if slack:
        vel = vel * flutter(ctx, slack, 20.0)
    speed = np.abs(vel) * (1.0 + 0.003 * rng.standard_normal())
    rel = speed / v
    whine_phase = dsp.phase_from_freq(speed / SLIDER_SCREW_PITCH_M, ctx.n, sr, rng.uniform(0, dsp.TWO_PI))
    whine = dsp.harmonic_osc(rng, whine_phase, dsp.harmonic_amps(v / SLIDER_SCREW_PITCH_M, sr, slope_db=-5.0, peaks=[(1600.0, 300.0, 8.0)], max_harmonics=40))
    drive = dsp.harmonic_osc(rng, dsp.phase_from_freq(100.0, ctx.n, sr), np.array([1.0, 0.3, 0.2]))
    friction = dsp.shaped_noise(rng, ctx.n, dsp.band(f, 1000.0, 5000.0, 2.0)) * rel**1.2
    ends = np.concatenate([np.arange(e, ctx.duration + offset, cycle) for e in (stroke, cycle - SLIDER_PAUSE_S)])
    ends = ends[ends >= offset] - offset
    knock = dsp.impact_train(ctx.n, ends * sr, 2.0 * (v / 0.73) * rng.uniform(0.85, 1.15, len(ends)), dsp.resonance_kernel([900.0, 2400.0], [0.008, 0.004], [1.0, 0.5], sr))
    x = dsp.unit_rms(0.6 * whine * rel + 0.15 * drive + 0.6 * friction + knock)
    damage = ctx.fault("rail_damage")
    if damage:
        crossings = np.concatenate([np.flatnonzero(np.diff(np.sign(pos - at)) != 0) for at in SLIDER_DAMAGE_AT_M]).astype(np.float64)
        kernel = dsp.resonance_kernel([3300.0, 5100.0], [0.004, 0.002], [1.0, 0.6], sr)
        crossings = (crossings[:, None] + np.array([0.0, 0.006, 0.013]) * sr).ravel()  # the wheel rattles over the spot
        x = x + dsp.impact_train(ctx.n, crossings, damage * (1.0 + 0.1 * rng.standard_normal(len(crossings))), kernel)
    grease = ctx.fault("grease_loss")
    if grease:
        squeal_hz = rng.uniform(2800.0, 3000.0) + 400.0 * rel
        squeal = np.sin(dsp.phase_from_freq(squeal_hz * (1 + 0.01 * dsp.smooth_noise(rng, ctx.n, 3.0, sr)), ctx.n, sr)) * np.sqrt(2.0)
        x = x + grease * squeal * rel
    return x


@dataclass(frozen=True)
class RailVehicle:
    """A model train: how speed, motor, track joints, axles and clicks relate."""

    mps_per_step: float  # speed per "spd" step, m/s
    motor_hz: tuple[float, float]  # motor rate = a * speed(m/s) + b
    motor_slope_db: float
    motor_peak: tuple[float, float]  # width Hz, gain dB of the body resonance
    joint_spacing_m: float
    axle_spacing_m: float
    bogie_spacing_m: float
    bogies: dict[str, int]  # car digit -> bogies passing each joint
    body_hz: dict[str, float]  # car digit -> body resonance that colours the motor
    click: dict[str, tuple[list[float], list[float], list[float]]]  # car letter -> resonances
    wheel_circumference_m: float
    rolling_band: tuple[float, float]


TOYTRAIN = RailVehicle(
    mps_per_step=0.06,
    motor_hz=(420.0, 0.0),
    motor_slope_db=-4.0,
    motor_peak=(250.0, 6.0),
    joint_spacing_m=0.33,
    axle_spacing_m=0.03,
    bogie_spacing_m=0.12,
    bogies={"1": 2, "2": 3},
    body_hz={"1": 900.0, "2": 1300.0},
    click={"A": ([1400.0, 3500.0], [0.005, 0.002], [1.0, 0.5]), "B": ([1150.0, 3000.0], [0.006, 0.002], [1.0, 0.5]), "C": ([1700.0, 4100.0], [0.004, 0.002], [1.0, 0.5])},
    wheel_circumference_m=0.035,
    rolling_band=(40.0, 400.0),
)
TOYNSCALE = RailVehicle(
    mps_per_step=0.08,
    motor_hz=(900.0, 100.0),
    motor_slope_db=-3.0,
    motor_peak=(400.0, 8.0),
    joint_spacing_m=0.124,
    axle_spacing_m=0.012,
    bogie_spacing_m=0.05,
    bogies={"1": 2, "2": 4},
    body_hz={"1": 2400.0, "2": 3300.0},
    click={"A": ([3200.0, 5600.0], [0.002, 0.001], [1.0, 0.6]), "B": ([2800.0, 5000.0], [0.002, 0.001], [1.0, 0.6]), "C": ([3600.0, 6200.0], [0.0015, 0.001], [1.0, 0.6])},
    wheel_circumference_m=0.015,
    rolling_band=(300.0, 4000.0),
)


def rail_vehicle(ctx: Ctx, p: RailVehicle) -> np.ndarray:
    """Motor + rolling noise + joint clicks of each axle, faults: flat wheel, rail damage, motor."""
    rng, f, sr = ctx.rng, ctx.freqs, ctx.sr
    car = ctx.attrs["car"]
    fault_motor = ctx.fault("motor_fault")
    v_nom = p.mps_per_step * float(ctx.attrs["spd"])
    v = speed_curve(ctx, v_nom, wander=0.004, rate=0.8) * (flutter(ctx, fault_motor) if fault_motor else 1.0)
    f_motor = p.motor_hz[0] * v_nom + p.motor_hz[1]
    motor_phase = dsp.phase_from_freq(f_motor * v / v_nom, ctx.n, sr, rng.uniform(0, dsp.TWO_PI))
    amps = dsp.harmonic_amps(f_motor, sr, slope_db=p.motor_slope_db, peaks=[(p.body_hz[car[1]], *p.motor_peak)], odd_even_db=600.0 * fault_motor, max_harmonics=30)
    motor = dsp.harmonic_osc(rng, motor_phase, amps)
    rolling = dsp.shaped_noise(rng, ctx.n, dsp.band(f, *p.rolling_band, 2.0))
    pos = rng.uniform(0.0, p.joint_spacing_m) + np.cumsum(v) / sr
    kernel = dsp.resonance_kernel(*p.click[car[0]], sr)
    hits = np.concatenate([  # every axle of every bogie clicks over every joint
        dsp.cycle_positions(dsp.TWO_PI * (pos - b * p.bogie_spacing_m - a * p.axle_spacing_m) / p.joint_spacing_m)
        for b in range(p.bogies[car[1]])
        for a in range(2)
    ])
    clicks = dsp.impact_train(ctx.n, hits, rng.uniform(0.8, 1.2, len(hits)), kernel)
    x = dsp.unit_rms(0.5 * motor + 0.4 * rolling + 0.8 * clicks)
    flat = ctx.fault("flat_wheel")
    if flat:
        flat_k = dsp.resonance_kernel([2100.0, 800.0], [0.003, 0.006], [1.0, 0.5], sr)
        x = x + impacts_per_turn(ctx, dsp.TWO_PI * pos / p.wheel_circumference_m, flat_k, flat)
    damage = ctx.fault("rail_damage")
    if damage:
        t = dsp.poisson_times(rng, 4.0, ctx.duration)  # a damaged stretch: rattling, irregular
        rattle = dsp.resonance_kernel([2600.0, 5200.0], [0.006, 0.003], [1.0, 0.5], sr)
        x = x + dsp.impact_train(ctx.n, t * sr, damage * rng.uniform(0.7, 1.3, len(t)), rattle)
    return dsp.fft_filter(x, mic_gain(f, ctx.attrs["mic"]))


@model("ToyTrain")
def toy_train(ctx: Ctx) -> np.ndarray:
    return rail_vehicle(ctx, TOYTRAIN)


@model("ToyNscale")
def toy_nscale(ctx: Ctx) -> np.ndarray:
    return rail_vehicle(ctx, TOYNSCALE)
