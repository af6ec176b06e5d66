"""End to end without a notebook: what do dark-matter direct-detection experiments and collider measurements in the
catalogue offer, and does COSINE-100's NaI see an annual modulation in 2–6 keVee?

    python docs/examples/multi_messenger.py HOME [OUTPUT_DIR]

HOME is a dmlake home (`dmlake --home HOME harvest`), or the URL of a running dmlake service.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from dmlake import Catalog
from dmlake.save import plot_png, save


def main(location: str, output: Path) -> dict[str, object]:
    output.mkdir(parents=True, exist_ok=True)
    with Catalog(location) as cat:
        # 1. Which messengers does the catalogue hold, and how many datasets each?
        overview = cat.search(facets=["messenger", "experiment"], size=0)
        print("datasets per messenger:", overview.facet("messenger"))

        # 2. Direct detection with energies meeting 1-10 keV, as a table
        direct = cat.search(messenger="dark-matter direct detection", energy=("1 keV", "10 keV"), size=50)
        print(direct.to_dataframe()[["experiments", "title", "year"]].to_string(index=False))

        # 3. Collider measurements at 13 TeV (HEPData), for the same kind of question on the other side
        collider = cat.search(messenger="collider", filters=["sqrt_s=13TeV"])
        print("collider datasets at 13 TeV:", [hit.title for hit in collider])

        # 4. COSINE-100's 2-6 keVee residual rates: units and uncertainties come with the data
        cosine = next(hit for hit in direct if "COSINE-100" in hit.experiments)
        rates = cat.open(cosine.id, "EventRate_erc2-6.csv")
        residual, error = rates["mean_residual"], rates["mean_residual_error"]
        days = rates["day_centers"].values
        valid = np.isfinite(residual.values) & np.isfinite(error.values)
        # least squares of residual = A cos(2π (t - 152.5 d) / 365.25 d): DAMA/LIBRA's phase, fixed
        basis = np.cos(2 * np.pi * (days[valid] - 152.5) / 365.25)
        weights = 1 / error.values[valid] ** 2
        amplitude = float(np.sum(weights * basis * residual.values[valid]) / np.sum(weights * basis**2))
        sigma = float(1 / np.sqrt(np.sum(weights * basis**2)))
        print(f"modulation amplitude {amplitude:.4f} ± {sigma:.4f} {residual.attrs['units']} (DAMA/LIBRA: 0.0102)")
        # the collaboration's own answer: the MCMC posterior of the same amplitude, published beside the rates
        posterior = cat.open(cosine.id, "AmplitudePosterior_erc2-6.csv")
        samples = posterior["mcmc_samples"].values
        mean = float(np.average(posterior["amplitude"].values, weights=samples))
        spread = float(np.sqrt(np.average((posterior["amplitude"].values - mean) ** 2, weights=samples)))
        print(f"published posterior: {mean:.4f} ± {spread:.4f} {posterior['amplitude'].attrs['units']}")
        save(rates, output / "cosine_rates.nc", "netcdf")
        plot_png(rates, output / "cosine_residual.png", "day_centers", ["mean_residual"])

        # 5. Two quenching factors on one recoil-energy grid (log-log interpolation, units checked)
        quenching = cat.combine(
            [
                (cosine.id, "CosineNaQF.csv", "nuclear_recoil_energy", "qf", "Na"),
                (cosine.id, "CosineIQF.csv", "nuclear_recoil_energy", "qf", "I"),
            ],
            on="recoil_energy",
            grid=(2, 80, 40),
        )
        plot_png(quenching, output / "quenching.png")
        print(quenching.attrs["conversions"])
    return {
        "messengers": overview.facet("messenger"),
        "direct": [hit.id for hit in direct],
        "collider": [hit.id for hit in collider],
        "amplitude": (amplitude, sigma),
        "posterior": (mean, spread),
        "quenching": quenching,
    }


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], Path(sys.argv[2] if len(sys.argv) > 2 else "analysis-output"))
