"""Motor + gear trains: mesh harmonics with shaft-rate sidebands, motor whine, rolling or track
noise (gearbox, ToyCar, ToyTank)."""

from __future__ import annotations

import numpy as np

from .. import dsp
from .base import Ctx, crackle, flutter, impacts_per_turn, mic_gain, model, speed_curve

GEAR_TEETH = 29
GEAR_RATIO = 3.1  # motor turns per output-shaft turn


@model("gearbox")
def gearbox(ctx: Ctx) -> np.ndarray:
    rng, f = ctx.rng, ctx.freqs
    volt, wt = float(ctx.attrs["volt"]), float(ctx.attrs["wt"])
    f_shaft = 7.5 * volt * (1.0 - 0.0004 * wt)  # the load slows the motor a little
    shaft = dsp.phase_from_freq(speed_curve(ctx, f_shaft), ctx.n, ctx.sr, rng.uniform(0, dsp.TWO_PI))
    mis = ctx.fault("misalignment")
    wear = ctx.fault("wear")
    # FM of the mesh at 2x shaft rate: relative depth ``mis`` -> phase index mis * teeth / 2
    mesh_phase = GEAR_TEETH * shaft + mis * GEAR_TEETH / 2.0 * np.sin(2.0 * shaft + rng.uniform(0, dsp.TWO_PI))
    amps = dsp.harmonic_amps(GEAR_TEETH * f_shaft, ctx.sr, slope_db=-4.0, peaks=[(2200.0, 500.0, 8.0)], max_harmonics=30)
    amps[1:] *= 1.0 + 2.0 * wear
    m1 = 0.10 + 0.0005 * wt + wear
    m2 = 0.04 + 10.0 * mis
    am = 1.0 + m1 * np.cos(shaft + rng.uniform(0, dsp.TWO_PI)) + m2 * np.cos(2.0 * shaft + rng.uniform(0, dsp.TWO_PI))
    mesh = dsp.harmonic_osc(rng, mesh_phase, amps) * am
    motor = dsp.harmonic_osc(rng, GEAR_RATIO * shaft, dsp.harmonic_amps(GEAR_RATIO * f_shaft, ctx.sr, slope_db=-6.0, max_harmonics=20))
    noise = dsp.shaped_noise(rng, ctx.n, dsp.band(f, 300.0, 5000.0, 1.5) * dsp.peaks_gain(f, [(3000.0, 800.0, 6.0)]))
    x = dsp.unit_rms((0.55 + 0.001 * wt) * mesh + 0.35 * motor + 0.45 * noise)
    crack = ctx.fault("tooth_crack")
    if crack:
        kernel = dsp.resonance_kernel([2600.0, 4100.0], [0.005, 0.003], [1.0, 0.6], ctx.sr)
        x = x + impacts_per_turn(ctx, shaft, kernel, crack)
    return x


# car model letter -> commutator slots, pinion teeth, spur teeth; digit -> tyre and chassis
TOYCAR_DRIVE = {"A": (3, 9, 45), "B": (5, 10, 40), "C": (7, 11, 44)}
TOYCAR_BODY = {"1": (700.0, 1800.0), "2": (1300.0, 2400.0)}


@model("ToyCar")
def toy_car(ctx: Ctx) -> np.ndarray:
    rng, f = ctx.rng, ctx.freqs
    slots, pinion, spur = TOYCAR_DRIVE[ctx.attrs["car"][0]]
    tyre_hz, chassis_hz = TOYCAR_BODY[ctx.attrs["car"][1]]
    f_motor = 4.6 * float(ctx.attrs["spd"].rstrip("V"))
    wear = ctx.fault("motor_wear")
    speed = speed_curve(ctx, f_motor, wander=0.003, rate=1.5) * (flutter(ctx, 0.03 * wear) if wear else 1.0)
    motor_phase = dsp.phase_from_freq(speed, ctx.n, ctx.sr, rng.uniform(0, dsp.TWO_PI))
    amps = dsp.harmonic_amps(f_motor, ctx.sr, slope_db=-4.0, max_harmonics=40)
    amps[np.arange(1, 41) % (2 * slots) == 0] *= 3.0  # commutation ripple
    motor = dsp.harmonic_osc(rng, motor_phase, amps)
    mesh = dsp.harmonic_osc(rng, pinion * motor_phase, np.array([1.0, 0.4, 0.15]))
    mesh = mesh * (1.0 + ctx.fault("gear_damage") * np.cos(motor_phase + rng.uniform(0, dsp.TWO_PI)))
    wheel = motor_phase * pinion / spur
    rolling = dsp.shaped_noise(rng, ctx.n, dsp.band(f, 60.0, tyre_hz, 2.0)) * (1.0 + 0.2 * np.cos(wheel))
    x = dsp.unit_rms(0.6 * motor + 0.35 * mesh + 0.6 * rolling)
    damage = ctx.fault("wheel_damage")
    if damage:
        kernel = dsp.resonance_kernel([chassis_hz, 700.0], [0.004, 0.006], [1.0, 0.5], ctx.sr)
        x = x + impacts_per_turn(ctx, wheel, kernel, damage)
    if wear:
        x = x + wear * crackle(ctx, 200.0)
    return dsp.fft_filter(x, mic_gain(f, ctx.attrs["mic"]))


# car model letter -> clatter resonances; digit -> motor gear teeth
TOYTANK_TRACK = {"A": (1100.0, 2900.0), "B": (850.0, 2300.0), "C": (1300.0, 3600.0)}
TOYTANK_TEETH = {"1": 12, "2": 15}
TRACK_PITCH_M = 0.008
TRACK_LINKS = 16


@model("ToyTank")
def toy_tank(ctx: Ctx) -> np.ndarray:
    rng, f = ctx.rng, ctx.freqs
    car = ctx.attrs["car"]
    spd = float(ctx.attrs["spd"])
    fault_motor = ctx.fault("motor_fault")
    speed = speed_curve(ctx, 1.0, wander=0.004, rate=1.0) * (flutter(ctx, fault_motor) if fault_motor else 1.0)
    f_motor = 55.0 * spd + 90.0
    motor_phase = dsp.phase_from_freq(f_motor * speed, ctx.n, ctx.sr, rng.uniform(0, dsp.TWO_PI))
    amps = dsp.harmonic_amps(f_motor, ctx.sr, slope_db=-5.0, odd_even_db=3.0 + 600.0 * fault_motor, max_harmonics=30)
    motor = dsp.harmonic_osc(rng, motor_phase, amps)
    mesh = dsp.harmonic_osc(rng, TOYTANK_TEETH[car[1]] * motor_phase, np.array([1.0, 0.3]))
    # the track moves at 0.035 m/s per speed step; a link hits the sprocket every TRACK_PITCH_M
    link_phase = dsp.phase_from_freq(0.035 * spd * speed / TRACK_PITCH_M, ctx.n, ctx.sr, rng.uniform(0, dsp.TWO_PI))
    pos = dsp.cycle_positions(link_phase)
    wear = ctx.fault("sprocket_wear")
    if wear:
        period = ctx.sr * TRACK_PITCH_M / (0.035 * spd)
        pos = pos + wear * period * rng.standard_normal(len(pos))
    lo, hi = TOYTANK_TRACK[car[0]]
    kernel = dsp.resonance_kernel([lo, hi], [0.004, 0.002], [1.0, 0.6], ctx.sr)
    clatter = dsp.impact_train(ctx.n, pos, rng.lognormal(0.0, 0.25 + wear, len(pos)), kernel)
    rumble = dsp.shaped_noise(rng, ctx.n, dsp.band(f, 40.0, 300.0, 2.0))
    x = dsp.unit_rms(0.5 * motor + 0.2 * mesh + 0.6 * dsp.unit_rms(clatter) + 0.4 * rumble)
    broken = ctx.fault("broken_link")
    if broken:
        pos = dsp.cycle_positions(link_phase / TRACK_LINKS, rng.uniform(0, dsp.TWO_PI))
        pos = (pos[:, None] + np.array([0.0, 0.01]) * ctx.sr).ravel()  # the loose link slaps twice
        x = x + dsp.impact_train(ctx.n, pos, broken * (1.0 + 0.15 * rng.standard_normal(len(pos))), kernel)
    return dsp.fft_filter(x, mic_gain(f, ctx.attrs["mic"]))
