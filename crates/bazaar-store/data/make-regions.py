#!/usr/bin/env python3
"""Builds regions-cn.csv from modood/Administrative-divisions-of-China (dist/*.csv).

Usage: make-regions.py PATH-TO-CHECKOUT > regions-cn.csv
See README.md beside this file for the rules.
"""
import csv
import sys

PROVINCES_EN = {
    "11": "Beijing", "12": "Tianjin", "13": "Hebei", "14": "Shanxi",
    "15": "Inner Mongolia Autonomous Region", "21": "Liaoning", "22": "Jilin",
    "23": "Heilongjiang", "31": "Shanghai", "32": "Jiangsu", "33": "Zhejiang",
    "34": "Anhui", "35": "Fujian", "36": "Jiangxi", "37": "Shandong", "41": "Henan",
    "42": "Hubei", "43": "Hunan", "44": "Guangdong",
    "45": "Guangxi Zhuang Autonomous Region", "46": "Hainan", "50": "Chongqing",
    "51": "Sichuan", "52": "Guizhou", "53": "Yunnan", "54": "Xizang Autonomous Region",
    "61": "Shaanxi", "62": "Gansu", "63": "Qinghai",
    "64": "Ningxia Hui Autonomous Region", "65": "Xinjiang Uygur Autonomous Region",
}


def zone(code):
    return "Asia/Urumqi" if code.startswith("65") else "Asia/Shanghai"


def rows(path):
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def main(root):
    provinces = rows(f"{root}/dist/provinces.csv")
    cities = rows(f"{root}/dist/cities.csv")
    areas = rows(f"{root}/dist/areas.csv")
    names = {p["code"]: p["name"] for p in provinces}
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["code", "name", "name_en", "level", "parent_code", "lat", "lng", "timezone"])
    lines = []
    for p in provinces:
        code = p["code"] + "0000"
        lines.append([code, p["name"], PROVINCES_EN[p["code"]], "province", "", "", "", zone(code)])
    for c in cities:
        code = c["code"] + "00"
        name = c["name"]
        # The municipalities list their districts under "市辖区" and Chongqing its counties
        # under "县": a buyer reads the municipality's name.
        if name == "市辖区":
            name = names[c["provinceCode"]]
        elif name == "县":
            name = names[c["provinceCode"]] + "辖县"
        lines.append([code, name, "", "prefecture", c["provinceCode"] + "0000", "", "", zone(code)])
    for a in areas:
        code = a["code"]
        # Development zones (71-79) are statistical, not administrative; cities without
        # counties (东莞, 中山, 儋州) list themselves again under their own code.
        if code[4] == "7" or code == a["cityCode"] + "00":
            continue
        lines.append([code, a["name"], "", "county", a["cityCode"] + "00", "", "", zone(code)])
    lines.sort(key=lambda r: r[0])
    out.writerows(lines)


if __name__ == "__main__":
    main(sys.argv[1])
