"""Result writers: Excel workbook, JSON."""
