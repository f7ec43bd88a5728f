"""kpredict.datasets"""
