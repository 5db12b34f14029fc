"""The master data of the simulated chain: branches, items, employees and the external sources.

Products, sizes, brands, cities and people's names are fixed vocabularies; :func:`build_master`
draws the chain's branches, items and staff from them. Arabic names are real Arabic; brands are
fictional. The warehouse and the supplier deliver stock but are not branches: their IDs never
appear in ``branches.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "SUPPLIER_ID",
    "SUPPLIER_NAME",
    "WAREHOUSE_ID",
    "WAREHOUSE_NAME",
    "Chain",
    "build_master",
]

#: External IDs that deliver stock but are not branches (absent from ``branches.csv``).
WAREHOUSE_ID = "WH01"
SUPPLIER_ID = "SUP01"
WAREHOUSE_NAME = "Central Warehouse, Riyadh"
SUPPLIER_NAME = "Direct Supplier Delivery"

# (Arabic, English, relative sales speed, size family, fresh = delivered by the supplier directly)
_PRODUCTS: tuple[tuple[str, str, float, str, bool], ...] = (
    ("حليب طازج", "Fresh Milk", 3.0, "liquid", True),
    ("لبن", "Laban", 2.5, "liquid", True),
    ("خبز عربي", "Arabic Bread", 4.0, "pack", True),
    ("بيض", "Eggs", 2.0, "pack", True),
    ("زبادي", "Yoghurt", 2.0, "weight", True),
    ("ماء معدني", "Mineral Water", 3.0, "liquid", False),
    ("أرز بسمتي", "Basmati Rice", 1.2, "weight", False),
    ("سكر", "Sugar", 1.0, "weight", False),
    ("شاي أسود", "Black Tea", 0.8, "weight", False),
    ("قهوة عربية", "Arabic Coffee", 0.7, "weight", False),
    ("زيت زيتون", "Olive Oil", 0.5, "liquid", False),
    ("زيت دوار الشمس", "Sunflower Oil", 0.9, "liquid", False),
    ("معكرونة", "Pasta", 1.0, "weight", False),
    ("طحين", "Flour", 0.8, "weight", False),
    ("تمر", "Dates", 1.0, "weight", False),
    ("عسل", "Honey", 0.3, "weight", False),
    ("جبنة بيضاء", "White Cheese", 1.0, "weight", False),
    ("لبنة", "Labneh", 1.2, "weight", False),
    ("زبدة", "Butter", 0.6, "weight", False),
    ("تونة", "Tuna", 1.0, "pack", False),
    ("حمص", "Chickpeas", 0.7, "weight", False),
    ("فول مدمس", "Fava Beans", 0.8, "weight", False),
    ("عدس", "Lentils", 0.5, "weight", False),
    ("بسكويت", "Biscuits", 1.3, "pack", False),
    ("شوكولاتة", "Chocolate", 1.0, "weight", False),
    ("رقائق البطاطس", "Potato Chips", 1.5, "weight", False),
    ("عصير برتقال", "Orange Juice", 1.4, "liquid", False),
    ("مشروب غازي", "Soft Drink", 2.0, "liquid", False),
    ("دجاج مجمد", "Frozen Chicken", 1.2, "weight", False),
    ("خضار مجمدة", "Frozen Vegetables", 0.6, "weight", False),
    ("زعتر", "Za'atar", 0.4, "weight", False),
    ("هيل", "Cardamom", 0.3, "weight", False),
    ("صابون", "Soap", 0.5, "pack", False),
    ("شامبو", "Shampoo", 0.3, "liquid", False),
    ("معجون أسنان", "Toothpaste", 0.4, "weight", False),
    ("مناديل ورقية", "Tissues", 0.9, "pack", False),
    ("منظف غسيل", "Laundry Detergent", 0.4, "liquid", False),
    ("سائل جلي", "Dish Soap", 0.4, "liquid", False),
    ("حفاضات أطفال", "Baby Diapers", 0.3, "pack", False),
    ("حليب أطفال", "Infant Formula", 0.2, "weight", False),
)

_SIZES: dict[str, tuple[tuple[str, str], ...]] = {
    "liquid": (("250 مل", "250 ml"), ("500 مل", "500 ml"), ("1 لتر", "1 L"), ("2 لتر", "2 L")),
    "weight": (("200 غ", "200 g"), ("500 غ", "500 g"), ("1 كغ", "1 kg"), ("5 كغ", "5 kg")),
    "pack": (("عبوة 6", "Pack of 6"), ("عبوة 12", "Pack of 12"), ("عبوة 30", "Pack of 30")),
}

# (English as printed on the box, Arabic). Commas and a double quote on purpose: quoting matters.
_BRANDS: tuple[tuple[str, str], ...] = (
    ("Al Waha", "الواحة"),
    ("Nakheel", "النخيل"),
    ("Dana, Sons & Co.", "دانة وأولاده"),
    ("Ruba", "ربى"),
    ("Sahara Dairy, Ltd.", "ألبان الصحراء"),
    ("Golden Palm", "النخلة الذهبية"),
    ("Al Noor", "النور"),
    ("Barakah, Inc.", "بركة"),
    ("Zahra", "زهرة"),
    ("Qamar", "قمر"),
    ('Al Waha "Premium"', "الواحة الممتازة"),
    ("Jood", "جود"),
)

_CITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Riyadh", ("Olaya", "Al Malaz", "Al Nakheel", "Al Sulaimaniyah", "Al Yasmin")),
    ("Jeddah", ("Al Rawdah", "Corniche", "Al Safa", "Al Hamra")),
    ("Dammam", ("Al Faisaliyah", "Al Shati")),
    ("Khobar", ("Al Aqrabiyah", "Al Thuqbah")),
    ("Mecca", ("Al Aziziyah", "Al Awali")),
    ("Medina", ("Quba", "Al Aziziyah")),
    ("Abha", ("Al Manhal",)),
    ("Tabuk", ("Al Muruj",)),
    ("Buraidah", ("Al Safra",)),
    ("Taif", ("Shihar",)),
)

_FIRST_NAMES = (
    "Ahmed", "Mohammed", "Fatimah", "Noura", "Khalid", "Sara", "Omar", "Layla", "Abdullah",
    "Huda", "Yousef", "Reem", "Faisal", "Maha", "Saad", "Amal", "Hassan", "Mariam",
)  # fmt: skip
_LAST_NAMES = (
    "Al-Harbi", "Al-Qahtani", "Al-Otaibi", "Al-Ghamdi", "Al-Zahrani", "Al-Shehri", "Al-Dosari",
    "Al-Mutairi", "Haddad", "Khoury", "Nasser", "Saleh",
)  # fmt: skip
_DEPARTMENTS = ("Sales", "Cashier", "Warehouse", "Customer Service", "Management")
_FIRST_OPENING = pd.Timestamp("2005-01-01")  # the oldest branch opened on this day or later


@dataclass(frozen=True)
class Chain:
    """Branches, items and employees of the simulated chain."""

    branch_ids: list[str]
    branch_names: list[str]
    opening: list[pd.Timestamp]
    item_codes: list[str]
    arabic: list[str]
    english: list[str]
    brand: list[str]
    speed: np.ndarray  # relative sales speed of the item's product
    fresh: np.ndarray  # bool: delivered by the supplier on fixed weekdays
    employees: list[tuple[str, str, str, str]]

    @property
    def n_branches(self) -> int:
        """Number of branches."""
        return len(self.branch_ids)

    @property
    def n_items(self) -> int:
        """Number of items; every branch stocks every item."""
        return len(self.item_codes)


def build_master(
    n_branches: int, n_items: int, first_day: pd.Timestamp, rng: np.random.Generator
) -> Chain:
    """Draw the branches, items and employees of a chain from the vocabularies.

    Parameters
    ----------
    n_branches, n_items : int
        Size of the chain. Branch IDs are zero-padded digits (``"001"``), item codes
        ``"ITM0001"`` …; both widen when the count needs more digits.
    first_day : pd.Timestamp
        First day of the history: branches open between 2005 and 90 days before it.
    rng : np.random.Generator
        The master-data stream; nothing else draws from it.

    Returns
    -------
    Chain
    """
    width = max(3, len(str(n_branches)))
    branch_ids = [f"{b + 1:0{width}d}" for b in range(n_branches)]
    places = [(city, district) for city, districts in _CITIES for district in districts]
    branch_names = []
    for b in range(n_branches):
        city, district = places[b % len(places)]
        # Most exports write "District, City" (a comma inside a field); a few the other way round.
        name = f"{district}, {city}" if b % 4 else f"{city} {district}"
        if b >= len(places):
            name = f"{name} {b // len(places) + 1}"
        branch_names.append(name)
    # Opening dates between 2005 and 90 days before the history: every branch trades throughout.
    span = (first_day - _FIRST_OPENING).days - 90
    opening = [
        _FIRST_OPENING + pd.Timedelta(days=int(x))
        for x in rng.integers(0, max(span, 1), n_branches)
    ]

    item_width = max(4, len(str(n_items)))
    item_codes = [f"ITM{i + 1:0{item_width}d}" for i in range(n_items)]
    product = rng.integers(0, len(_PRODUCTS), n_items)
    brand = rng.integers(0, len(_BRANDS), n_items)
    size_draw = rng.integers(0, 12, n_items)
    arabic, english, brands = [], [], []
    for p, br, sz in zip(product.tolist(), brand.tolist(), size_draw.tolist(), strict=True):
        ar, en, _, family, _ = _PRODUCTS[p]
        size_ar, size_en = _SIZES[family][sz % len(_SIZES[family])]
        brand_en, brand_ar = _BRANDS[br]
        arabic.append(f"{ar} {brand_ar} {size_ar}")
        english.append(f"{en} {size_en} - {brand_en}")
        brands.append(brand_en)
    speed = np.array([_PRODUCTS[p][2] for p in product.tolist()], dtype=np.float64)
    fresh = np.array([_PRODUCTS[p][4] for p in product.tolist()], dtype=bool)

    employees = []
    per_branch = rng.integers(4, 10, n_branches)
    first = rng.integers(0, len(_FIRST_NAMES), int(per_branch.sum()) + 3)
    last = rng.integers(0, len(_LAST_NAMES), len(first))
    dept = rng.integers(0, len(_DEPARTMENTS), len(first))
    # Head-office staff (blank BranchID) first, then each branch's staff.
    homes = [""] * 3 + [
        bid for bid, n in zip(branch_ids, per_branch.tolist(), strict=True) for _ in range(n)
    ]
    for n, home in enumerate(homes):
        f, la = _FIRST_NAMES[first[n]], _LAST_NAMES[last[n]]
        # Some HR systems write "Last, First": a quoted field with a comma.
        full = f"{la}, {f}" if n % 7 == 3 else f"{f} {la}"
        department = "Head Office" if not home else _DEPARTMENTS[dept[n]]
        employees.append((f"{n + 1:06d}", full, department, home))

    return Chain(
        branch_ids=branch_ids,
        branch_names=branch_names,
        opening=opening,
        item_codes=item_codes,
        arabic=arabic,
        english=english,
        brand=brands,
        speed=speed,
        fresh=fresh,
        employees=employees,
    )
