"""kpredict.cli"""
