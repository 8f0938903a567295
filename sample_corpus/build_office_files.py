"""Write the sample corpus's .docx and .pdf files from the texts below (run once; outputs are committed)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent

MUDRA = (
    "Mudra loans for small businesses",
    [
        (
            "What the scheme offers",
            "The Pradhan Mantri Mudra Yojana (PMMY) gives loans for non-farm "
            "income-generating activities in manufacturing, trading and services, and for activities "
            "allied to agriculture such as dairy and poultry. No collateral is required.",
        ),
        (
            "Loan categories",
            "Shishu loans cover amounts up to Rs 50,000. Kishore loans cover amounts "
            "above Rs 50,000 and up to Rs 5 lakh. Tarun loans cover amounts above Rs 5 lakh and up to "
            "Rs 10 lakh. Tarun Plus loans, introduced in 2024, go above Rs 10 lakh and up to Rs 20 lakh "
            "for borrowers who have repaid an earlier Tarun loan.",
        ),
        (
            "Where to apply",
            "Apply at a commercial bank, a regional rural bank, a small finance bank, "
            "a cooperative bank, an NBFC or a microfinance institution, or online through the "
            "Udyamimitra portal. Keep proof of identity, proof of address, a business plan and "
            "quotations for the machinery or goods you will buy.",
        ),
    ],
)

PMEGP_TE = (
    "పీఎంఈజీపీ: కొత్త సంస్థలకు సబ్సిడీ",
    [
        (
            "పథకం ఏమిటి",
            "ప్రధానమంత్రి ఉపాధి కల్పన కార్యక్రమం (పీఎంఈజీపీ) కొత్త సూక్ష్మ సంస్థలను "
            "ప్రారంభించడానికి బ్యాంకు రుణంతో పాటు మార్జిన్ మనీ సబ్సిడీని ఇస్తుంది. ఈ పథకాన్ని ఖాదీ మరియు "
            "గ్రామీణ పరిశ్రమల కమిషన్ (కేవీఐసీ) అమలు చేస్తుంది.",
        ),
        (
            "ప్రాజెక్టు పరిమితి",
            "తయారీ రంగంలో గరిష్ఠ ప్రాజెక్టు వ్యయం యాభై లక్షల రూపాయలు. సేవా రంగంలో గరిష్ఠ ప్రాజెక్టు వ్యయం ఇరవై లక్షల రూపాయలు.",
        ),
        (
            "సబ్సిడీ శాతం",
            "సాధారణ వర్గం లబ్ధిదారులకు పట్టణ ప్రాంతాల్లో 15 శాతం, గ్రామీణ ప్రాంతాల్లో 25 శాతం "
            "సబ్సిడీ లభిస్తుంది. మహిళలు, ఎస్సీ, ఎస్టీ, ఓబీసీ, మైనారిటీలు, మాజీ సైనికులు మరియు దివ్యాంగులకు "
            "పట్టణ ప్రాంతాల్లో 25 శాతం, గ్రామీణ ప్రాంతాల్లో 35 శాతం సబ్సిడీ లభిస్తుంది. సాధారణ వర్గం సొంత "
            "వాటా ప్రాజెక్టు వ్యయంలో 10 శాతం, ప్రత్యేక వర్గాలకు 5 శాతం.",
        ),
        (
            "ఎలా దరఖాస్తు చేయాలి",
            "పీఎంఈజీపీ ఈ-పోర్టల్‌లో ఆన్‌లైన్‌లో దరఖాస్తు చేయాలి. ఎంపికైన వారు రుణం "
            "విడుదలకు ముందు వ్యవస్థాపక అభివృద్ధి శిక్షణ పూర్తి చేయాలి.",
        ),
    ],
)

DELAYED_PAYMENTS = (
    "Delayed payments to micro and small enterprises",
    [
        (
            "The 45-day rule",
            "Under section 15 of the MSMED Act, 2006, a buyer must pay a micro or "
            "small supplier by the date agreed in writing, and that date can be at most 45 days after "
            "the goods or services were accepted. Where there is no written agreement, payment is due "
            "within 15 days.",
        ),
        (
            "Interest on late payment",
            "If the buyer pays late, section 16 makes the buyer liable to "
            "pay compound interest with monthly rests at three times the bank rate notified by the "
            "Reserve Bank of India.",
        ),
        (
            "Income tax",
            "Since the 2023-24 financial year, section 43B(h) of the Income-tax Act lets "
            "a buyer deduct a payment due to a micro or small enterprise only in the year it is "
            "actually paid, if it is paid after the 45-day limit.",
        ),
        (
            "MSME Samadhaan",
            "A supplier whose payment is overdue can file an application on the MSME "
            "Samadhaan portal. The case goes to the Micro and Small Enterprises Facilitation Council of "
            "the state, which first tries conciliation and then arbitration, and should decide within "
            "90 days.",
        ),
        (
            "TReDS",
            "To get paid early, a supplier can sell its invoices on a Trade Receivables "
            "Discounting System (TReDS) platform, where financiers bid to discount invoices accepted by "
            "large buyers.",
        ),
    ],
)


def write_docx(path: Path, title: str, sections: list[tuple[str, str]]) -> None:
    """A Word document with a title, section headings and paragraphs."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=1)
    for heading, text in sections:
        document.add_heading(heading, level=2)
        document.add_paragraph(text)
    document.save(str(path))


def write_pdf(path: Path, title: str, sections: list[tuple[str, str]]) -> None:
    """A PDF with a text layer: title and the first sections on page 1, the rest on page 2."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.multi_cell(0, 10, title)
    for number, (heading, text) in enumerate(sections):
        if number == 3:
            pdf.add_page()
        pdf.ln(4)
        pdf.set_font("helvetica", "B", 13)
        pdf.multi_cell(0, 8, heading)
        pdf.ln(2)
        pdf.set_font("helvetica", "", 11)
        pdf.multi_cell(0, 6, text)
    pdf.output(str(path))


def main() -> None:
    """Write every generated file of the sample corpus."""
    write_docx(HERE / "en" / "mudra_loans.docx", *MUDRA)
    write_docx(HERE / "te" / "pmegp_subsidy_te.docx", *PMEGP_TE)
    write_pdf(HERE / "en" / "delayed_payments.pdf", *DELAYED_PAYMENTS)


if __name__ == "__main__":
    main()
